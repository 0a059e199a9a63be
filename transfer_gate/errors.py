"""The exception tree of transfer-gate.

    TransferGateError
    ├── ConfigError            bad configuration; the app refuses to start
    ├── DataFileError          a rule, case, taxonomy, citation or profile file is invalid
    │   ├── RuleFileError      names the file and the rule id
    │   ├── CitationError      an unknown or malformed citation ref
    │   └── ProfileError       names the file and the field
    ├── RequestInvalid         the request breaks the contract (422, per-field errors)
    │   └── UnsupportedOrigin  no regime for this origin (422)
    ├── UnknownCountry         no profile for this code (404)
    ├── EngineFailure          the rules engine raised, swallowed an error or returned nothing:
    │                          the decision fails closed (500), it is never guessed
    └── LogUnavailable         the decision could not be logged durably (503): not returned
"""


class TransferGateError(Exception):
    """Base of every error transfer-gate raises on purpose."""


class ConfigError(TransferGateError):
    """The configuration is invalid."""


class DataFileError(TransferGateError):
    """A data file (rules, cases, taxonomy, citations, profiles) is invalid."""

    def __init__(self, path, message, item=None):
        self.path = str(path)
        self.item = item
        where = f"{self.path}" + (f" [{item}]" if item else "")
        super().__init__(f"{where}: {message}")


class RuleFileError(DataFileError):
    """A rule file is invalid; `item` is the rule id."""


class CitationError(DataFileError):
    """A citation ref is malformed or not in the registry."""


class ProfileError(DataFileError):
    """A country profile is invalid; `item` is the field path."""


class RequestInvalid(TransferGateError):
    """The request does not satisfy the contract; `errors` maps field paths to messages."""

    def __init__(self, errors, detail="The request has invalid fields."):
        self.errors = errors
        self.detail = detail
        super().__init__(detail)


class UnsupportedOrigin(RequestInvalid):
    """No regime is known for the request's origin."""


class UnknownCountry(TransferGateError):
    """No country profile exists for the code."""

    def __init__(self, code):
        self.code = code
        super().__init__(f"no country profile for {code!r}")


class EngineFailure(TransferGateError):
    """The rules engine failed; the decision is not made."""


class LogUnavailable(TransferGateError):
    """The decision could not be written to the decision log."""

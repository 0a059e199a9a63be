"""The officer pages in English and Japanese: the interface's own texts, and which language a request reads.

What the law says comes from the rules, the citation registry and the country profiles, which
carry both languages already (`text`/`text_ja`, `title`/`title_ja`); `localized()` picks one.
This catalogue holds only the interface's words and the labels of the contract's enumerations.
Every entry is an (English, Japanese) pair, so a text cannot exist in one language only.

The chosen language is remembered in a cookie; without one, the browser's Accept-Language decides.
"""

from __future__ import annotations

import re

from flask import Flask, g, request

LANGUAGES = ("en", "ja")
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

MESSAGES: dict[str, tuple[str, str]] = {
    # layout
    "app.name": ("transfer-gate", "transfer-gate"),
    "app.tagline": ("Cross-border transfers under Japan's APPI", "個人情報保護法に基づく外国にある第三者への提供の判定"),
    "nav.label": ("Main", "メイン"),
    "nav.form": ("New scenario", "シナリオ入力"),
    "nav.scenarios": ("Scenario library", "シナリオ集"),
    "nav.countries": ("Countries", "国・地域"),
    "nav.audit": ("Audit", "監査"),
    "nav.signin": ("Sign in", "サインイン"),
    "nav.signout": ("Sign out", "サインアウト"),
    "nav.signed_in_as": ("Signed in as {who}", "{who} としてサインイン中"),
    "nav.skip": ("Skip to content", "本文へ移動"),
    "signin.lead": ("Privacy officers and auditors sign in with their API key.",
                    "個人情報保護担当者と監査担当者は、APIキーでサインインします。"),
    "signin.key": ("API key", "APIキー"),
    "signin.signed_in_as": ("You are signed in with key {key_id} as {role}.", "キー {key_id}（{role}）でサインインしています。"),
    "signin.unknown_key": ("That key is unknown or has been revoked.", "このキーは登録されていないか、失効しています。"),
    "signin.too_many": ("Too many unknown keys were tried from your address. Try again in {seconds} seconds.",
                        "お使いのアドレスから未登録のキーが多数試されました。{seconds}秒後にもう一度お試しください。"),
    "signin.no_pages": ("Keys with the role {role} have no pages here; use the key with the API as "
                        "'Authorization: Bearer <key>'.",
                        "ロール {role} のキーで使えるページはありません。APIで 'Authorization: Bearer <key>' として使ってください。"),
    "forbidden.title": ("Not for your role", "このロールでは利用できません"),
    "forbidden.body": ("You are signed in with key {key_id} as {role}, and this page is not open to that role.",
                       "キー {key_id}（{role}）でサインインしていますが、このページはそのロールには開かれていません。"),
    "forbidden.switch": ("Sign out and sign in with another key", "サインアウトして別のキーでサインイン"),
    "lang.switch_label": ("Language", "言語"),
    "lang.en": ("English", "English"),
    "lang.ja": ("日本語", "日本語"),
    "footer.not_advice": (
        "Answers cite their sources; they are not legal advice.",
        "判定結果には根拠条文等を示していますが、法的助言ではありません。",
    ),
    "footer.api": ("JSON API", "JSON API"),
    # the form
    "form.title": ("Describe a transfer", "提供の内容を入力"),
    "form.intro": (
        "Every field of the decision request. Fields left as they are take the contract's defaults.",
        "判定リクエストの全項目です。変更しない項目は既定値で判定します。",
    ),
    "form.errors_title": ("The scenario could not be decided", "判定できませんでした"),
    "form.errors_intro": ("Correct the fields below:", "次の項目を確認してください："),
    "form.error_from_service": ("The service answered:", "サービスからの応答："),
    "form.section.where": ("Where the data goes", "提供先の国"),
    "form.section.data": ("What is transferred", "提供するデータ"),
    "form.section.recipient": ("The recipient", "提供先"),
    "form.section.basis": ("The basis relied on", "提供の根拠"),
    "form.section.when": ("Date and reference", "基準日・参照番号"),
    "form.submit": ("Decide", "判定する"),
    "form.prefilled_decision": ("Prefilled from decision {id}.", "判定 {id} の内容を入力済みです。"),
    "form.prefilled_scenario": ("Prefilled from saved scenario “{name}”.", "保存したシナリオ「{name}」の内容を入力済みです。"),
    "field.origin": ("Origin (exporter's country)", "提供元の国"),
    "field.origin.help": ("Selects the regime: JP applies the APPI.", "適用する法制を選びます（JP：個人情報保護法）。"),
    "field.destination": ("Destination (where the recipient is)", "提供先の所在国"),
    "field.destination.help": (
        "Type a country name in English or Japanese, or its two-letter code, and pick it from the list. "
        "Where the recipient is, not where its servers are; choose “not yet identified” if it cannot be identified yet.",
        "国名（英語・日本語）又は2文字のコードを入力し、候補から選んでください。"
        "サーバの所在地ではなく提供先の所在国です。特定できない場合は「未特定」を選びます。",
    ),
    "field.destination.unknown": ("Not yet identified", "未特定"),
    "field.data_categories": ("Data categories", "データの種類"),
    "field.data_categories.help": (
        "Tick every kind of data in the transfer; the most restrictive answer wins.",
        "提供するデータの種類をすべて選択してください。最も厳しい判定結果が全体の結果になります。",
    ),
    "group.special_care": ("Special care-required personal information", "要配慮個人情報"),
    "group.special_care.help": (
        "APPI 2(3), Cabinet Order 2. Each item is also personal data.",
        "法第2条第3項、施行令第2条。いずれも個人データでもあります。",
    ),
    "group.eu_uk_only": ("Special care only for EU/UK-origin data", "EU・英国由来のデータに限り要配慮個人情報"),
    "group.eu_uk_only.help": (
        "Supplementary Rule (1): ordinary personal data otherwise.",
        "補完的ルール(1)。それ以外の場合は通常の個人データです。",
    ),
    "group.other": ("Other kinds of data", "その他の情報"),
    "field.data_origin": ("Where the exporter received the data from", "提供元がデータを取得した経緯"),
    "field.data_origin.help": (
        "EU or UK: received under the adequacy decision, so the Supplementary Rules apply.",
        "EU又は英国：十分性認定に基づき移転を受けたデータであり、補完的ルールが適用されます。",
    ),
    "data_origin.none": ("Not from the EEA or the UK", "EU・英国からの移転ではない"),
    "data_origin.EU": ("From the EEA under the adequacy decision", "十分性認定に基づきEUから移転を受けた"),
    "data_origin.UK": ("From the UK under the adequacy decision", "十分性認定に基づき英国から移転を受けた"),
    "field.recipient.name": ("Recipient's name", "提供先の名称"),
    "field.recipient.name.help": ("For the records and the log (optional).", "記録及びログ用（任意）。"),
    "field.recipient.relationship": ("Relationship", "提供先との関係"),
    "field.recipient.relationship.help": ("APPI 27(5): outsourcing, succession and joint use.", "法第27条第5項：委託・事業承継・共同利用。"),
    "field.recipient.safeguards": ("Safeguards the recipient has in place", "提供先の体制"),
    "field.recipient.safeguards.help": (
        "PPC Rules 16: a contract or group rules (i), or a certification (ii).",
        "規則第16条：契約・内部規程等（第1号）又は認証（第2号）。",
    ),
    "field.recipient.flags": ("About the recipient", "提供先について"),
    "field.recipient.handles_data": ("The recipient handles the data", "提供先がデータを取り扱う"),
    "field.recipient.handles_data.help": (
        "Untick for storage only: the operator is contractually barred from handling the data and access is controlled (PPC Q&A 12-3).",
        "保管のみの場合はチェックを外します（契約上データを取り扱わない旨が定められ、アクセス制御されている場合。Q&A 12-3）。",
    ),
    "field.recipient.links_to_individuals": (
        "The recipient is expected to link the data to individuals",
        "提供先で個人データとして取得されることが想定される",
    ),
    "field.recipient.links_to_individuals.help": ("For personally referable information (APPI 31).", "個人関連情報の場合（法第31条）。"),
    "field.recipient.academic_institution": ("The recipient is an academic research institution", "提供先は学術研究機関等である"),
    "field.basis.consent": ("The principal's consent", "本人の同意"),
    "field.basis.exception": ("APPI 27(1) exception relied on", "依拠する法第27条第1項各号の例外"),
    "field.basis.flags": ("Other bases", "その他の根拠"),
    "field.basis.opt_out": ("The exporter uses the opt-out notified to the PPC", "オプトアウト（個人情報保護委員会へ届出済み）による"),
    "field.basis.opt_out.help": ("APPI 27(2).", "法第27条第2項。"),
    "field.basis.public_announcement": (
        "The items and the method of provision were announced in advance",
        "提供する項目及び提供の方法を事前に公表した",
    ),
    "field.basis.public_announcement.help": ("For anonymized data (APPI 43(4), 44).", "匿名加工情報の場合（法第43条第4項、第44条）。"),
    "field.as_of": ("Decide as of", "基準日"),
    "field.as_of.help": ("The rules and profiles in force on this date; leave empty for today.", "この日に有効な規則及び国別情報で判定します。空欄の場合は本日。"),
    "field.reference": ("Your reference", "参照番号"),
    "field.reference.help": ("Your own correlation id, kept in the log (optional).", "ログに記録される任意の管理番号。"),
    "option.none": ("None", "なし"),
    "relationship.third_party": ("Third party", "第三者"),
    "relationship.outsourcee": ("Outsourcee (processor)", "委託先"),
    "relationship.joint_use": ("Joint use", "共同利用"),
    "relationship.business_succession": ("Business succession", "事業の承継"),
    "safeguard.contract_measures": (
        "Contract ensuring measures equivalent to APPI Ch. 4 Sec. 2",
        "法第4章第2節と同等の措置を確保する契約",
    ),
    "safeguard.group_rules": ("Group-internal rules ensuring those measures", "同等の措置を確保するグループ内部規程"),
    "safeguard.apec_cbpr": ("APEC CBPR certification", "APEC CBPR認証"),
    "safeguard.global_cbpr": ("Global CBPR certification", "グローバルCBPR認証"),
    "safeguard.apec_prp": ("APEC PRP certification", "APEC PRP認証"),
    "consent.none": ("No consent", "同意なし"),
    "consent.plain": ("Consent to third-party provision", "第三者提供への同意"),
    "consent.informed": (
        "Informed consent (after the APPI 28(2) information was given)",
        "法第28条第2項の情報提供を経た同意",
    ),
    "exception.laws_and_regulations": ("(i) Required by Japanese laws and regulations", "第1号 法令に基づく場合"),
    "exception.life_body_property": ("(ii) Protection of life, body or property", "第2号 人の生命・身体・財産の保護"),
    "exception.public_health_children": ("(iii) Public health or children's development", "第3号 公衆衛生・児童の健全な育成"),
    "exception.state_cooperation": ("(iv) Cooperation with a state body", "第4号 国の機関等への協力"),
    "exception.academic_publication": ("(v) Academic research: publication", "第5号 学術研究の成果の公表・教授"),
    "exception.academic_joint_research": ("(vi) Academic research: joint research", "第6号 学術研究目的（共同研究）"),
    "exception.academic_recipient": ("(vii) Academic research: the recipient's purpose", "第7号 提供先の学術研究目的"),
    "error.destination_required": ("Choose the destination country.", "提供先の国を選択してください。"),
    "error.destination_unknown": (
        "“{text}” is not a country in the list: pick one of the suggestions, or type its two-letter code.",
        "「{text}」は一覧にない国です。候補から選ぶか、2文字の国コードを入力してください。",
    ),
    "error.no_category": ("Tick at least one kind of data.", "データの種類を1つ以上選択してください。"),
    "error.unknown_profile": ("No country profile exists for this destination.", "この国の国別情報がありません。"),
    "error.field_prefix": ("Check this field.", "この項目を確認してください。"),
    # the answer
    "answer.title": ("Decision {id}", "判定 {id}"),
    "answer.outcome": ("Outcome", "判定結果"),
    "outcome.allow": ("Allowed", "提供可"),
    "outcome.conditional": ("Allowed on conditions", "条件付きで提供可"),
    "outcome.deny": ("Not allowed", "提供不可"),
    "outcome.allow.lead": ("Lawful with no transfer-specific obligation.", "移転固有の義務なく適法に提供できます。"),
    "outcome.conditional.lead": ("Lawful provided every condition below is met.", "以下のすべての条件を満たす場合に適法に提供できます。"),
    "outcome.deny.lead": ("Not lawful on the facts given. See the remedies below.", "入力された事実では適法に提供できません。下記の対応策を参照してください。"),
    "answer.route": ("Route", "根拠"),
    "route.none": ("No lawful route", "適法な根拠なし"),
    "answer.decided_by": ("Decided by", "判定を決めたデータ"),
    "answer.scenario": ("The scenario", "シナリオ"),
    "answer.conditions": ("Conditions", "条件"),
    "answer.no_conditions": ("No conditions.", "条件はありません。"),
    "answer.recheck": ("Re-check within {days} days.", "{days}日以内に再確認。"),
    "answer.applies_to": ("Applies to", "対象"),
    "answer.details": ("About the destination", "移転先国の情報"),
    "answer.citations": ("Authorities", "根拠"),
    "answer.sources": ("Sources", "出典"),
    "answer.deny_reasons": ("Why it is not allowed", "提供できない理由"),
    "answer.remedies": ("Remedies", "対応策"),
    "answer.remedy_missing": ("Missing now", "現在欠けているもの"),
    "answer.paths": ("Routes", "提供の根拠の検討"),
    "answer.paths.intro": (
        "Every route the regime knows: which are satisfied, and what is missing for the others.",
        "法制上のすべての根拠について、満たしているもの、及びその他の根拠に欠けているものを示します。",
    ),
    "answer.path.route": ("Route", "根拠"),
    "answer.path.status": ("Status", "状況"),
    "answer.path.missing": ("Missing", "欠けているもの"),
    "status.satisfied": ("Satisfied", "充足"),
    "status.unsatisfied": ("Not satisfied", "不充足"),
    "status.not_applicable": ("Not applicable", "該当なし"),
    "answer.records": ("Records", "記録"),
    "answer.records.required": (
        "A record of this provision is required, kept for {retention}.",
        "この提供については記録の作成が必要です（保存期間：{retention}）。",
    ),
    "answer.records.not_required": ("No record of this provision is required.", "この提供について記録の作成は不要です。"),
    "answer.records.items": ("Items to record", "記録事項"),
    "answer.kinds": ("Each kind of data", "データの種類ごとの結果"),
    "answer.kind": ("Kind", "種類"),
    "answer.kind.categories": ("Categories", "項目"),
    "answer.kind.decisive": ("decides the answer", "全体の結果を決定"),
    "answer.profile": ("Destination profile", "移転先国の情報"),
    "answer.profile.unknown": (
        "The destination has not been identified, so no country profile applies (PPC Rules 17(3)).",
        "移転先国が特定されていないため、国別情報はありません（規則第17条第3項）。",
    ),
    "answer.profile.changed": (
        "The profile has changed since this decision was made (digest {digest}).",
        "この判定の後に国別情報が更新されています（ダイジェスト {digest}）。",
    ),
    "answer.profile.more": ("Full profile of {name}", "{name}の国別情報の詳細"),
    "answer.permalink": ("Permalink to this logged decision", "このログ記録への固定リンク"),
    "answer.evaluated": ("Decided {at} as of {as_of}", "{at} 判定（基準日 {as_of}）"),
    "answer.ruleset": ("Ruleset", "ルールセット"),
    "answer.profile_digest": ("Profile", "国別情報"),
    "answer.caller": ("Asked by", "依頼者"),
    "answer.change": ("Change this scenario", "このシナリオを変更する"),
    "answer.json": ("As JSON", "JSON形式"),
    "answer.not_found": ("No logged decision has the id {id}.", "ID {id} の判定記録はありません。"),
    # the scenario itself, on the answer and library pages
    "scenario.destination": ("Destination", "提供先の国"),
    "scenario.data": ("Data", "データ"),
    "scenario.recipient": ("Recipient", "提供先"),
    "scenario.basis": ("Basis", "根拠"),
    "scenario.yes": ("yes", "はい"),
    "scenario.no": ("no", "いいえ"),
    # saving and the library
    "save.title": ("Save as test case", "テストケースとして保存"),
    "save.intro": (
        "Keep this scenario in the library with the answer you expect. If you expect the answer it got now, "
        "the outcome, route, conditions, citations and records are pinned; otherwise only the outcome you expect.",
        "期待する結果とともにシナリオ集に保存します。現在の結果を期待する場合は、結果・根拠・条件・根拠条文・記録を固定します。"
        "それ以外の場合は、期待する結果のみを保存します。",
    ),
    "save.name": ("Name", "名前"),
    "save.expected_outcome": ("Expected outcome", "期待する結果"),
    "save.submit": ("Save", "保存する"),
    "save.name_required": ("Give the scenario a name.", "シナリオの名前を入力してください。"),
    "save.name_too_long": ("At most 200 characters.", "200文字以内で入力してください。"),
    "save.outcome_invalid": ("Choose allow, conditional or deny.", "提供可・条件付きで提供可・提供不可のいずれかを選択してください。"),
    "save.saved": ("Saved “{name}” to the scenario library.", "「{name}」をシナリオ集に保存しました。"),
    "library.title": ("Scenario library", "シナリオ集"),
    "library.intro": (
        "Scenarios saved with their expected answers. Re-run them after the rules or country profiles change; "
        "export them to make them permanent cases beside the rules.",
        "期待する結果とともに保存したシナリオです。規則や国別情報の更新後に再実行し、"
        "規則とともに管理する恒久的なテストケースとしてエクスポートできます。",
    ),
    "library.empty": (
        "No scenario is saved yet. Decide a scenario, then use “Save as test case” on its answer.",
        "保存したシナリオはありません。判定後、結果画面の「テストケースとして保存」を使ってください。",
    ),
    "library.run": ("Re-run all against the current rules", "現在の規則ですべて再実行"),
    "library.export": ("Export all as cases (YAML)", "すべてをケース形式（YAML）でエクスポート"),
    "library.name": ("Name", "名前"),
    "library.expected": ("Expected", "期待する結果"),
    "library.saved": ("Saved", "保存日時"),
    "library.actions": ("Actions", "操作"),
    "library.open": ("Open in form", "フォームで開く"),
    "library.decision": ("Original decision", "元の判定"),
    "library.export_one": ("Export (YAML)", "エクスポート（YAML）"),
    "library.delete": ("Delete", "削除"),
    "library.deleted": ("Deleted “{name}”.", "「{name}」を削除しました。"),
    "run.title": ("Re-run of the scenario library", "シナリオ集の再実行"),
    "run.summary": ("{passed} passed, {failed} failed", "成功 {passed} 件、失敗 {failed} 件"),
    "run.ruleset": ("Current rules: {name} {version}", "現在の規則：{name} {version}"),
    "run.result": ("Result", "結果"),
    "run.pass": ("pass", "成功"),
    "run.fail": ("fail", "失敗"),
    "run.now": ("Answer now", "現在の結果"),
    "run.changes": ("What changed since it was saved", "保存時からの変化"),
    "run.no_changes": ("Nothing changed.", "変化なし。"),
    "run.failures": ("Expectations not met", "満たされなかった期待"),
    "run.error": ("The saved request is no longer valid:", "保存したリクエストは現在無効です："),
    "change.outcome": ("Outcome", "結果"),
    "change.route": ("Route", "根拠"),
    "change.decided_by": ("Decided by", "判定を決めたデータ"),
    "change.records": ("Records", "記録"),
    "change.conditions": ("Conditions", "条件"),
    "change.citations": ("Citations", "根拠条文"),
    "change.remedies": ("Remedies", "対応策"),
    "change.paths": ("Route status", "根拠の状況"),
    "change.added": ("added", "追加"),
    "change.removed": ("removed", "削除"),
    # countries
    "countries.title": ("Country profiles", "国・地域別の情報"),
    "countries.intro": (
        "What the rules know about each destination, with its sources and review date.",
        "判定に用いる各国の情報（出典及び確認日付き）。",
    ),
    "countries.filter": ("Find a country", "国を検索"),
    "countries.code": ("Code", "コード"),
    "countries.name": ("Country", "国・地域"),
    "countries.designated": ("Designated (PPC Rules 15)", "規則第15条の指定"),
    "countries.cbpr": ("APEC CBPR", "APEC CBPR"),
    "countries.reviewed": ("Reviewed", "確認日"),
    "countries.not_curated": ("not reviewed by hand", "未精査"),
    "country.as_of": ("As in force on {date}", "{date} 時点"),
    "country.as_of_field": ("Show as of", "表示する基準日"),
    "country.as_of_invalid": ("Not a valid date (YYYY-MM-DD): showing today's profile.", "日付の形式が正しくありません（YYYY-MM-DD）。本日時点の情報を表示しています。"),
    "country.show": ("Show", "表示"),
    "country.status": ("Status", "位置付け"),
    "country.designated": ("Designated under PPC Rules 15", "規則第15条による指定"),
    "country.designated_since": ("since {since} ({instrument})", "{since}から（{instrument}）"),
    "country.apec_member": ("APEC economy", "APEC参加エコノミー"),
    "country.apec_cbpr": ("Takes part in APEC CBPR", "APEC CBPRシステム参加"),
    "country.global_cbpr": ("Global CBPR Forum", "グローバルCBPRフォーラム"),
    "global_cbpr.member": ("member", "メンバー"),
    "global_cbpr.associate": ("associate", "アソシエイト"),
    "global_cbpr.none": ("no", "なし"),
    "country.oecd": ("OECD member", "OECD加盟国"),
    "country.since": ("since {since}", "{since}から"),
    "country.law": ("Data-protection law", "個人情報保護法制"),
    "country.law.none": ("No comprehensive law", "包括的な法律なし"),
    "country.law.in_force": ("in force since {since}", "{since}施行"),
    "country.authority": ("Authority", "監督機関"),
    "country.authority.independent": ("independent", "独立"),
    "country.system": ("The protection system", "個人情報保護制度の概要"),
    "country.oecd8_gaps": ("OECD-8 principles without a counterpart", "対応する規定が見当たらないOECD8原則"),
    "country.oecd8_gaps.none": ("None: all eight have a counterpart.", "なし（8原則すべてに対応する規定あり）。"),
    "country.oecd8_gaps.unassessed": ("Not assessed.", "未評価。"),
    "country.government_access": ("Government access", "政府による情報収集"),
    "country.localization": ("Data localization", "データローカライゼーション"),
    "country.present": ("Present", "あり"),
    "country.absent": ("None found", "なし"),
    "country.unknown": ("Not yet researched", "未調査"),
    "country.ppc_survey": ("The PPC's survey of this country", "個人情報保護委員会による当該国の制度調査"),
    "country.sources": ("Sources", "出典"),
    "country.retrieved": ("retrieved {date}", "{date}取得"),
    "country.notes": ("Notes", "備考"),
    "country.review": ("Review", "確認"),
    "country.reviewed_by": ("Reviewed {date} by {reviewer}", "{date} {reviewer} 確認"),
    "country.not_curated": (
        "This profile was generated and has not been reviewed by hand: decisions treat it as stale.",
        "この国別情報は自動生成され、未精査です。判定では古い情報として扱われます。",
    ),
    "country.stale": ("The review is older than 18 months: re-check before relying on it.", "確認から18か月を超えています。利用前に再確認してください。"),
    "country.missing": ("Still to research for a PPC Rules 17(2) notice", "規則第17条第2項の情報提供のため未調査の項目"),
    "country.digest": ("Content digest", "内容ダイジェスト"),
    "country.json": ("As JSON", "JSON形式"),
    "topic.system": ("The protection system", "個人情報保護制度"),
    "topic.oecd8_gaps": ("OECD-8 gaps", "OECD8原則との差異"),
    "topic.government_access": ("Government access", "政府による情報収集"),
    "topic.localization": ("Data localization", "データローカライゼーション"),
    "topic.law": ("Data-protection law", "個人情報保護法制"),
    "oecd8.collection_limitation": ("Collection limitation", "収集制限の原則"),
    "oecd8.data_quality": ("Data quality", "データ内容の原則"),
    "oecd8.purpose_specification": ("Purpose specification", "目的明確化の原則"),
    "oecd8.use_limitation": ("Use limitation", "利用制限の原則"),
    "oecd8.security_safeguards": ("Security safeguards", "安全保護の原則"),
    "oecd8.openness": ("Openness", "公開の原則"),
    "oecd8.individual_participation": ("Individual participation", "個人参加の原則"),
    "oecd8.accountability": ("Accountability", "責任の原則"),
    # errors
    "error.not_found": ("Page not found", "ページが見つかりません"),
    "error.csrf": ("The form could not be accepted", "フォームを受け付けられませんでした"),
    "error.csrf.detail": (
        "It was not sent from this site's page, or the page expired. Go back, reload the page and send it again.",
        "このサイトのページから送信されていないか、ページの有効期限が切れています。戻ってページを再読み込みし、もう一度送信してください。",
    ),
    "error.log_unavailable": ("The decision could not be logged", "判定を記録できませんでした"),
    "error.log_unavailable.detail": (
        "Every decision is logged before it is shown, and the log is not available now, so no answer is shown. Try again shortly.",
        "判定はすべて記録してから表示します。現在ログに書き込めないため、結果は表示されません。しばらくしてから再度お試しください。",
    ),
    "error.engine": ("The rules engine failed", "ルールエンジンでエラーが発生しました"),
    "error.engine.detail": (
        "The rules engine failed on this scenario, so no decision was made: an answer is never guessed.",
        "このシナリオの判定中にルールエンジンが失敗したため、判定は行われていません（推測による回答はしません）。",
    ),
    "error.back": ("Back to the form", "フォームへ戻る"),
}

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")
_DURATION_UNITS = {"en": ("year", "month", "day"), "ja": ("年", "か月", "日")}


def language() -> str:
    """Return the language of the current request: its cookie, else the browser's preference."""
    chosen = g.get("_language")
    if chosen is None:
        chosen = request.cookies.get(COOKIE)
        if chosen not in LANGUAGES:
            chosen = request.accept_languages.best_match(LANGUAGES, default="en")
        g._language = chosen
    return chosen


def gettext(key: str, **values) -> str:
    """Return the catalogue text for `key` in the current language, with `values` filled in."""
    text = MESSAGES[key][LANGUAGES.index(language())]
    return text.format(**values) if values else text


def localized(item, field: str = "text"):
    """Pick `field` or its `_ja` twin from a dict or object that carries both."""
    def read(name):
        return item.get(name) if isinstance(item, dict) else getattr(item, name, None)

    if language() == "ja":
        value = read(field + "_ja")
        if value:
            return value
    return read(field)


def duration(iso: str | None) -> str:
    """Spell an ISO 8601 duration such as P3Y in the current language ("3 years", "3年")."""
    match = _DURATION.match(iso or "")
    if not match or not any(match.groups()):
        return iso or ""
    lang = language()
    parts = []
    for count, unit in zip(match.groups(), _DURATION_UNITS[lang]):
        if count:
            n = int(count)
            parts.append(f"{n}{unit}" if lang == "ja" else f"{n} {unit}{'s' if n != 1 else ''}")
    return "".join(parts) if lang == "ja" else ", ".join(parts)


def safe_next(target: str | None) -> str:
    """Return `target` if it is a path on this site, else "/" (the toggle must not redirect elsewhere)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def init_app(app: Flask) -> None:
    """Make the catalogue and the language available to every template."""

    @app.context_processor
    def _translation_context():
        return {"_": gettext, "lang": language(), "localized": localized, "duration": duration, "catalogue": MESSAGES}

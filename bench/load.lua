-- wrk script for bench/http.py: cycles through request bodies (one per line in a file) and reports
-- throughput, latency percentiles and non-200 answers as one JSON line.
--   wrk ... -s bench/load.lua URL -- METHOD PATH BODIES_FILE AUTHORIZATION
local method, path, auth
local bodies = {}
local n = 0
local threads = {}
local cdf_points = {}
for p = 1, 99 do cdf_points[#cdf_points + 1] = p end
for _, p in ipairs({99.2, 99.4, 99.6, 99.8, 99.9, 99.95, 99.99}) do cdf_points[#cdf_points + 1] = p end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  method, path, auth = args[1], args[2], args[4]
  if args[3] ~= "-" then
    for line in io.lines(args[3]) do
      bodies[#bodies + 1] = line
    end
  end
  n = math.random(math.max(#bodies, 1))
  not200 = 0
end

function request()
  local headers = {}
  if auth ~= "-" then headers["Authorization"] = auth end
  if #bodies == 0 then
    return wrk.format(method, path, headers)
  end
  n = n % #bodies + 1
  headers["Content-Type"] = "application/json"
  return wrk.format(method, path, headers, bodies[n])
end

function response(status, headers, body)
  if status ~= 200 then not200 = not200 + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("not200") or 0) end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"not200": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, bad, e.connect + e.read + e.write + e.timeout))
  -- The distribution at fixed percentiles, so that several wrk's can be merged (bench/harness.py).
  local points = {}
  for _, p in ipairs(cdf_points) do
    points[#points + 1] = string.format("[%g, %d]", p, latency:percentile(p))
  end
  points[#points + 1] = string.format("[100, %d]", latency.max)  -- percentile(100) answers 0
  io.write("WRK-CDF [" .. table.concat(points, ", ") .. "]\n")
end

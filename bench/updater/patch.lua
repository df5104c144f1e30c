-- wrk script for the baseline: pdns's own HTTP API replacing the A rrset of
-- one host per request (PATCH /api/v1/servers/localhost/zones/bench.test.),
-- the same host/address rotation as update.lua, so every request is a real
-- change.  Environment: HOSTS, API_KEY, THREADS, OFFSET.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  hosts = tonumber(os.getenv("HOSTS") or "1000")
  key = os.getenv("API_KEY")
  nthreads = tonumber(os.getenv("THREADS") or "1")
  offset = tonumber(os.getenv("OFFSET") or "0")
  bad = 0
  good = 0
  sample = nil
end

function request()
  counter = counter + 1
  local h = (tid + (counter * nthreads)) % hosts
  local n = counter * nthreads + tid + offset
  local ip = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256,
                           math.floor(n / 256) % 256, n % 256)
  local body = string.format('{"rrsets":[{"name":"h%d.bench.test.","type":"A","ttl":60,' ..
    '"changetype":"REPLACE","records":[{"content":"%s","disabled":false}]}]}', h, ip)
  return wrk.format("PATCH", "/api/v1/servers/localhost/zones/bench.test.",
                    {["X-API-Key"] = key, ["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status == 204 then
    good = good + 1
  else
    bad = bad + 1
    if not sample then sample = status .. " " .. body end
  end
end

function done(summary, latency, requests)
  local g, b = 0, 0
  for _, t in ipairs(threads) do
    g = g + t:get("good")
    b = b + t:get("bad")
    local s = t:get("sample")
    if s then io.write("sample bad reply: ", s, "\n") end
  end
  io.write(string.format("RESULT ok=%d bad=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    g, b, g / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end

-- wrk script: every request is a real change.  Hosts h0..h(N-1).bench.test
-- are split between wrk threads (host = tid + k * threads), and each thread
-- walks addresses of 10.0.0.0/8 upwards from OFFSET (a different range per
-- run), so a host never gets the address it already has.  Counts replies
-- that are not "good".
-- Environment: HOSTS (number of hosts, a multiple of THREADS), THREADS,
-- TOKEN, OFFSET, NOCHG=1 (hosts n0..n15.bench.test, each always sent the
-- address it has: the nochg path).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  hosts = tonumber(os.getenv("HOSTS") or "1000")
  token = os.getenv("TOKEN")
  nochg = os.getenv("NOCHG") == "1"
  nthreads = tonumber(os.getenv("THREADS") or "1")
  offset = tonumber(os.getenv("OFFSET") or "0")
  bad = 0
  good = 0
  sample = nil
  -- nochg: the 16 requests never change, so they are built once (the
  -- client shares the server's two cores; its per-request Lua work is
  -- kept small so it measures the server, not itself).
  if nochg then
    reqs = {}
    for k = 0, 15 do
      reqs[k] = wrk.format("GET", string.format(
        "/nic/update?hostname=n%d.bench.test&myip=192.0.2.%d&token=%s", k, k + 1, token))
    end
  end
end

function request()
  counter = counter + 1
  local h, ip
  if nochg then
    return reqs[counter % 16]
  end
  local h = (tid + (counter * nthreads)) % hosts
  local n = counter * nthreads + tid + offset
  local ip = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256,
                           math.floor(n / 256) % 256, n % 256)
  return wrk.format("GET", string.format(
    "/nic/update?hostname=h%d.bench.test&myip=%s&token=%s", h, ip, token))
end

function response(status, headers, body)
  local want = nochg and "nochg" or "good"
  if status == 200 and body:sub(1, #want) == want then
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

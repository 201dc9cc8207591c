-- GETs as get-keys.lua, counting the answers by status; prints "status <code> <count>" lines at the end.
local threads = {}
function setup(thread) table.insert(threads, thread) end
local n = tonumber(os.getenv("SABCACHE_BENCH_KEYS") or "10000")
local i = 0
statuses = {}
request = function()
  i = (i + 7919) % n
  return wrk.format("GET", string.format("/v1/kv/key:%012d", i))
end
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  for _, t in ipairs(threads) do
    for code, count in pairs(t:get("statuses")) do io.write(string.format("status %d %d\n", code, count)) end
  end
end

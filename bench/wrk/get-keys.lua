-- GETs rotating over SABCACHE_BENCH_KEYS preloaded keys (key:000000000000 …).
local n = tonumber(os.getenv("SABCACHE_BENCH_KEYS") or "10000")
local i = 0
request = function()
  i = (i + 7919) % n
  return wrk.format("GET", string.format("/v1/kv/key:%012d", i))
end

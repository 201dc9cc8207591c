-- PUTs of 100-byte values rotating over SABCACHE_BENCH_KEYS keys.
local n = tonumber(os.getenv("SABCACHE_BENCH_KEYS") or "10000")
local body = string.rep("v", 100)
local i = 0
request = function()
  i = (i + 7919) % n
  return wrk.format("PUT", string.format("/v1/kv/key:%012d", i), nil, body)
end

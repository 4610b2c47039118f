-- wrk script: POST a C.Hasil per request, cycling through the TPS of the
-- bodies file ("<kode_tps> <token> <json>" per line: each TPS sends with its
-- own KPPS tokens, as on election night), each with a fresh Idempotency-Key,
-- and report status counts and latency percentiles as JSON.
-- Arguments: the bodies file, then a run id unique to this wrk run, which every
-- key carries: a key of an earlier run would be a replay, not a new submission.
-- Run with exactly THREADS wrk threads (-t2): thread i takes TPS i, i+2, ...,
-- so no two requests in flight are for the same TPS.
local THREADS = 2
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1]
  run = args[2]
  bodies = {}
  for line in io.lines(path) do
    local kode, token, body = line:match("^(%S+) (%S+) (.*)$")
    bodies[#bodies + 1] = {kode, "Bearer " .. token, body}
  end
  sent, created, other = 0, 0, 0
end

function request()
  local item = bodies[(sent * THREADS + id) % #bodies + 1]
  sent = sent + 1
  return wrk.format("POST", "/api/v1/hasil/ppwp/" .. item[1], {
    ["Content-Type"] = "application/json",
    ["Authorization"] = item[2],
    ["Idempotency-Key"] = string.format("bench-%s-%d-%d", run, id, sent),
  }, item[3])
end

function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    o = o + t:get("other")
  end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "created": %d, "other": %d, "seconds": %.3f, ' ..
    '"timeouts": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, c, o, summary.duration / 1e6, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end

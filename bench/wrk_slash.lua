-- wrk script: cycles through pre-signed slash commands (bench/gen_requests.py),
-- each thread through its own slice so no request is sent twice.
local reqs = {}
local idx = 0
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  local path = args[1]
  local nthreads = tonumber(args[2])
  local n = 0
  for line in io.lines(path) do
    if n % nthreads == tid then
      local ts, sig, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", "/slack/events", {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Slack-Request-Timestamp"] = ts,
        ["X-Slack-Signature"] = sig,
      }, body)
    end
    n = n + 1
  end
end

function request()
  idx = idx + 1
  if idx > #reqs then idx = 1 end
  return reqs[idx]
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors_status=%d errors_connect=%d p50_us=%d p99_us=%d rps=%.1f\n",
    summary.requests, summary.errors.status, summary.errors.connect,
    latency:percentile(50), latency:percentile(99),
    summary.requests / (summary.duration / 1e6)))
end

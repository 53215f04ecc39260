-- wrk script of bench/soak.sh: mixed reads over the MCP Registry API. Per connection thread, round robin:
-- list pages that follow metadata.nextCursor to the end and start again, and the paths of the file named
-- by SOAK_PATHS (single versions, latest versions, searches, version lists). Every other request asks for
-- gzip; a path answered before is asked again with If-None-Match (304 when the catalog has not changed it).
-- done() prints "soak <key> <value>" lines for the shell: requests, answers by class, socket errors, p99.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function encode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local paths = {}
local tags = {}
local cursor = nil
local counter = 0
local last_path = nil
local last_list = false
ok = 0
not_modified = 0
bad = 0
pages = 0

function init(args)
  local name = assert(os.getenv("SOAK_PATHS"), "SOAK_PATHS is not set")
  local file = assert(io.open(name, "r"))
  for line in file:lines() do
    if line ~= "" then table.insert(paths, line) end
  end
  file:close()
  assert(#paths > 0, "no paths in " .. name)
end

function request()
  counter = counter + 1
  local headers = {}
  last_list = counter % 4 == 0
  if last_list then
    last_path = "/v0.1/servers?limit=100"
    if cursor then last_path = last_path .. "&cursor=" .. encode(cursor) end
  else
    last_path = paths[(counter % #paths) + 1]
    if counter % 2 == 1 then headers["Accept-Encoding"] = "gzip" end
    if tags[last_path] and counter % 3 ~= 0 then headers["If-None-Match"] = tags[last_path] end
  end
  return wrk.format("GET", last_path, headers)
end

function response(status, headers, body)
  if status == 304 then
    not_modified = not_modified + 1
  elseif status >= 200 and status < 300 then
    ok = ok + 1
    local tag = headers["etag"] or headers["ETag"]
    if tag and not last_list then tags[last_path] = tag end
    if last_list then
      pages = pages + 1
      cursor = body:match('"nextCursor"%s*:%s*"([^"]*)"')
    end
  else
    bad = bad + 1
    if bad <= 5 then io.stderr:write(string.format("soak: %d for %s\n", status, last_path)) end
  end
end

function done(summary, latency, requests)
  local totals = { ok = 0, not_modified = 0, bad = 0, pages = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do totals[key] = totals[key] + (thread:get(key) or 0) end
  end
  local e = summary.errors
  io.write(string.format("soak requests %d\n", summary.requests))
  io.write(string.format("soak answers_2xx %d\nsoak answers_304 %d\nsoak answers_other %d\n",
    totals.ok, totals.not_modified, totals.bad))
  io.write(string.format("soak list_pages %d\n", totals.pages))
  io.write(string.format("soak socket_errors %d\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("soak socket_errors_detail connect=%d,read=%d,write=%d,timeout=%d\n",
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format("soak p50_ms %.3f\nsoak p99_ms %.3f\nsoak max_ms %.3f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end

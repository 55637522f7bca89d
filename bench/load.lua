-- wrk script for bench/run.py.
--   GET with a cookie:   wrk ... -s bench/load.lua URL -- get  "<Cookie header or ->"
--   POST client forms:   wrk ... -s bench/load.lua URL -- post <data file> <threads> <csrf>
-- The data file has one pre-issued client link per line: "<session key> <urlencoded body>".
-- Each POST uses the next unused line of its thread's share; when a thread runs out it
-- starts over (those requests then meet used links and are counted in "reused").
-- done() prints one JSON line starting with "WRKJSON " for run.py to parse.

local thread_count = 0
local threads = {}

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  threads[#threads + 1] = thread
end

local mode, cookie, lines, position, reused, csrf, path

function init(args)
  mode = args[1] or "get"
  path = wrk.path
  if mode == "get" then
    if args[2] and args[2] ~= "-" then wrk.headers["Cookie"] = args[2] end
    return
  end
  local threads = tonumber(args[3])
  csrf = args[4]
  lines, position, reused = {}, 0, 0
  local n = 0
  for line in io.lines(args[2]) do
    if n % threads == tid then
      local space = line:find(" ", 1, true)
      lines[#lines + 1] = {line:sub(1, space - 1), line:sub(space + 1)}
    end
    n = n + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  if mode == "get" then return wrk.format(nil, path) end
  position = position + 1
  if position > #lines then position, reused = 1, reused + 1 end
  local entry = lines[position]
  local headers = {
    ["Cookie"] = "sessionid=" .. entry[1] .. "; csrftoken=" .. csrf,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  return wrk.format("POST", path, headers, entry[2])
end

-- Status codes seen by this thread (with the Location of redirects), as "code=count,…".
statuses = ""
local counts = {}

function response(status, headers, body)
  local key = tostring(status)
  if status >= 300 and status < 400 then key = key .. " " .. (headers["Location"] or "?") end
  counts[key] = (counts[key] or 0) + 1
  local parts = {}
  for code, n in pairs(counts) do parts[#parts + 1] = code .. "=" .. n end
  statuses = table.concat(parts, ",")
end

function done(summary, latency, requests)
  local e = summary.errors
  local total = {}
  for _, thread in ipairs(threads) do
    for code, n in string.gmatch(thread:get("statuses") or "", "([^,=]+)=(%d+)") do
      total[code] = (total[code] or 0) + tonumber(n)
    end
  end
  local codes = {}
  for code, n in pairs(total) do codes[#codes + 1] = '"' .. code .. '":' .. n end
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"codes":{%s}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, table.concat(codes, ",")))
end

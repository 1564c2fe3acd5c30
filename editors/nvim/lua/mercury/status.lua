--- What the server is doing, for `require("mercury").statusline()` and `:Mercury status`:
--- starting, loading (from the server's $/progress), ready or stopped; the last request's latency;
--- and the server's own counters from the `mercury/stats` request.

local compat = require("mercury.compat")

local M = {}

---@class mercury.Status
---@field state "off"|"starting"|"loading"|"ready"|"failed"|"stopped"
---@field failure string|nil why the engine could not start (the end message of $/progress)
---@field progress string|nil message of the running $/progress, e.g. "loading coder-mini 40%"
---@field latency_ms number|nil round trip of the last answered inline completion
---@field errors integer requests answered with an error other than a cancellation
M.current = { state = "off", errors = 0 }

---@param ms number
---@param err table|nil
function M.record_latency(ms, err)
  if err and err.code ~= -32800 then
    M.current.errors = M.current.errors + 1
  elseif not err then
    M.current.latency_ms = ms
    if M.current.state == "loading" then
      M.set_state("ready") -- an answer came: whatever the progress said, the server works
    end
  end
end

function M.set_state(state)
  M.current.state = state
  if state ~= "loading" then
    M.current.progress = nil
  end
end

--- Handler for the LspProgress autocmd (Neovim 0.10+), filtered to our client by the caller.
--- mercury-lsp reports "starting", loading steps, then ends with "<model> ready" or "could not start ...".
---@param value table the WorkDoneProgress value: kind, title, message, percentage
function M.on_progress(value)
  if value.kind == "end" then
    local failed = value.message and value.message:find("^could not") ~= nil
    M.set_state(failed and "failed" or "ready")
    M.current.failure = failed and value.message or nil
    return
  end
  local text = value.message or value.title or "loading"
  if value.percentage then
    text = ("%s %d%%"):format(text, value.percentage)
  end
  M.current.state = "loading"
  M.current.progress = text
end

--- One short line for a statusline: "mercury coder-mini ready 142ms".
---@param model string|false
---@return string
function M.line(model)
  local s = M.current
  local parts = { "mercury" }
  if model then
    parts[#parts + 1] = model
  end
  parts[#parts + 1] = s.state == "loading" and (s.progress or "loading") or s.state
  if s.latency_ms and s.state == "ready" then
    parts[#parts + 1] = ("%dms"):format(math.floor(s.latency_ms + 0.5))
  end
  return table.concat(parts, " ")
end

--- Ask the server for its counters; `cb(err, stats)` gets the raw table (shown, accepted, latency...).
---@param client vim.lsp.Client
---@param cb fun(err: table|nil, stats: table|nil)
function M.fetch_stats(client, cb)
  local id = compat.request(client, "mercury/stats", vim.empty_dict(), function(err, result)
    cb(err, result)
  end, nil)
  if not id then
    cb({ message = "server not running" }, nil)
  end
end

--- Human-readable lines for `:Mercury status`.
---@param model string|false
---@param stats table|nil
---@return string[]
function M.describe(model, stats)
  local out = { M.line(model) }
  if M.current.failure then
    out[#out + 1] = M.current.failure
  end
  if M.current.errors > 0 then
    out[#out + 1] = ("requests failed: %d (see :LspLog)"):format(M.current.errors)
  end
  if type(stats) == "table" then
    local keys = vim.tbl_keys(stats)
    table.sort(keys)
    for _, key in ipairs(keys) do
      out[#out + 1] = ("%s: %s"):format(key, vim.inspect(stats[key], { newline = " ", indent = "" }))
    end
  end
  return out
end

return M

--- Requests for the Neovim 0.10/0.11 path: a per-buffer debounce timer, and at most one
--- textDocument/inlineCompletion in flight per buffer (a newer one cancels the older one with
--- $/cancelRequest, so the server can stop denoising for text the user has already changed).

local compat = require("mercury.compat")
local status = require("mercury.status")

local M = {}

---@class mercury.Pending
---@field timer uv.uv_timer_t|nil
---@field client vim.lsp.Client|nil
---@field id integer|nil request id in flight
---@field waiting boolean|nil the debounce timer is running
---@field generation integer|nil bumped by every cancel

---@type table<integer, mercury.Pending>
local pending = {}

local function get(bufnr)
  pending[bufnr] = pending[bufnr] or {}
  return pending[bufnr]
end

--- Stop the debounce timer and cancel the request in flight, if any.
---@param bufnr integer
function M.cancel(bufnr)
  local p = pending[bufnr]
  if not p then
    return
  end
  if p.timer then
    p.timer:stop()
  end
  -- A timer that already fired may have its callback queued by vim.schedule: the generation
  -- tells that callback it is stale.
  p.generation, p.waiting = (p.generation or 0) + 1, false
  if p.id and p.client then
    compat.cancel(p.client, p.id)
  end
  p.id, p.client = nil, nil
end

--- Cancel, and forget the buffer's timer (on detach).
---@param bufnr integer
function M.forget(bufnr)
  M.cancel(bufnr)
  local p = pending[bufnr]
  if p and p.timer and not p.timer:is_closing() then
    p.timer:close()
  end
  pending[bufnr] = nil
end

--- Send textDocument/inlineCompletion at the cursor now. `on_result(result, snapshot)` runs only if
--- the answer is still current: same request, same buffer version, same cursor.
---@param bufnr integer
---@param client vim.lsp.Client
---@param trigger_kind integer 1 Invoked, 2 Automatic
---@param on_result fun(result: table, snapshot: {row: integer, col: integer, tick: integer, client: vim.lsp.Client})
function M.send(bufnr, client, trigger_kind, on_result)
  M.cancel(bufnr)
  local win = vim.api.nvim_get_current_win()
  if vim.api.nvim_win_get_buf(win) ~= bufnr then
    return
  end
  local params = vim.lsp.util.make_position_params(win, client.offset_encoding)
  params.context = { triggerKind = trigger_kind }
  local cursor = vim.api.nvim_win_get_cursor(win)
  local snapshot = { row = cursor[1] - 1, col = cursor[2], tick = vim.b[bufnr].changedtick, client = client }
  local started = vim.uv.hrtime()
  local p = get(bufnr)
  local id
  id = compat.request(client, "textDocument/inlineCompletion", params, function(err, result)
    if p.id ~= id then
      return -- cancelled or superseded
    end
    p.id, p.client = nil, nil
    status.record_latency((vim.uv.hrtime() - started) / 1e6, err)
    if err or not result or not vim.api.nvim_buf_is_valid(bufnr) then
      return
    end
    local now = vim.api.nvim_win_get_cursor(0)
    local moved = now[1] - 1 ~= snapshot.row or now[2] ~= snapshot.col
    local stale = vim.api.nvim_get_current_buf() ~= bufnr or vim.b[bufnr].changedtick ~= snapshot.tick or moved
    if stale or not vim.startswith(vim.api.nvim_get_mode().mode, "i") then
      return
    end
    on_result(result, snapshot)
  end, bufnr)
  p.id, p.client = id, id and client or nil
end

--- Whether a request is waiting for its debounce or for its answer.
---@param bufnr integer
---@return boolean
function M.busy(bufnr)
  local p = pending[bufnr]
  return p ~= nil and (p.id ~= nil or p.waiting == true)
end

--- Restart the buffer's debounce timer; when it fires, `fn` runs on the main loop.
---@param bufnr integer
---@param delay integer milliseconds
---@param fn fun()
function M.debounce(bufnr, delay, fn)
  M.cancel(bufnr)
  local p = get(bufnr)
  local generation = p.generation
  p.timer = p.timer or vim.uv.new_timer()
  p.waiting = true
  p.timer:start(delay, 0, vim.schedule_wrap(function()
    if p.generation == generation and vim.api.nvim_buf_is_valid(bufnr) then
      p.waiting = false
      fn()
    end
  end))
end

return M

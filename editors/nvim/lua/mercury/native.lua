--- Neovim 0.12+: the built-in vim.lsp.inline_completion requests, draws and accepts; this module only
--- enables it per buffer and adds what it lacks: accepting a word or a line, and dismissing.
--- (Its debounce is fixed inside Neovim, so `suggestion.debounce` does not apply here.)

local text = require("mercury.text")

local M = {}

local ic = vim.lsp.inline_completion

---@param bufnr integer
function M.attach(bufnr)
  ic.enable(true, { bufnr = bufnr })
end

---@param bufnr integer
function M.detach(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    ic.enable(false, { bufnr = bufnr })
  end
end

---@param bufnr integer
---@return boolean
function M.visible(bufnr)
  local ns = vim.api.nvim_get_namespaces()["nvim.lsp.inline_completion"]
  return ns ~= nil and #vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { limit = 1 }) > 0
end

--- Insert the `pick`ed prefix of a built-in item's text at the cursor (the item is dismissed; the
--- next keystroke asks again, and the server answers typed-through text from its cache).
---@param item vim.lsp.inline_completion.Item
---@param pick fun(rest: string): string
local function insert_part(item, pick)
  local plain = text.item_text(item.insert_text)
  local win = vim.api.nvim_get_current_win()
  local bufnr = vim.api.nvim_win_get_buf(win)
  local cursor = vim.api.nvim_win_get_cursor(win)
  local row, col = cursor[1] - 1, cursor[2]
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  local typed = ""
  if item.range and item.range.start.row == row and item.range.start.col <= col then
    typed = line:sub(item.range.start.col + 1, col)
  end
  local rest, indent = text.rest_and_indent(plain, typed, line:sub(1, col))
  if not rest or rest == "" then
    return
  end
  if indent then -- the item changes the indentation before the cursor: set it first
    vim.api.nvim_buf_set_text(bufnr, row, col - #typed, row, col, { indent })
    col = col - #typed + #indent
  end
  local part = pick(rest)
  vim.api.nvim_buf_set_text(bufnr, row, col, row, col, text.lines(part))
  local r, c = text.end_position(row, col, part)
  vim.api.nvim_win_set_cursor(win, { r + 1, c })
end

--- Accept all (`pick` nil) or a prefix of the shown item.
---@param bufnr integer
---@param pick nil|fun(rest: string): string
---@return boolean
function M.accept(bufnr, pick)
  if not pick then
    return ic.get({ bufnr = bufnr })
  end
  return ic.get({ bufnr = bufnr, on_accept = function(item) insert_part(item, pick) end })
end

---@param bufnr integer
---@return boolean
function M.dismiss(bufnr)
  -- get() with an accept handler that does nothing: the built-in hides the item and aborts requests.
  return ic.get({ bufnr = bufnr, on_accept = function() end })
end

---@param bufnr integer
---@param step integer
---@return boolean
function M.cycle(bufnr, step)
  if not M.visible(bufnr) then
    return false
  end
  ic.select({ bufnr = bufnr, count = step })
  return true
end

--- Ask for a suggestion now. The built-in has no public request function; it requests (debounced)
--- on CursorMovedI, so replay that event for the buffer.
---@param bufnr integer
function M.request_now(bufnr)
  vim.api.nvim_exec_autocmds("CursorMovedI", { buffer = bufnr, modeline = false })
end

return M

--- Ghost-text suggestions for Neovim 0.10/0.11, which lack vim.lsp.inline_completion: request on
--- insert-mode text changes (debounced), draw the answer, let the user type through it, accept all of
--- it or a word or a line, cycle candidates, dismiss. Neovim 0.12+ uses native.lua instead.

local compat = require("mercury.compat")
local config = require("mercury.config")
local ghost = require("mercury.ghost")
local request = require("mercury.request")
local server = require("mercury.server")
local text = require("mercury.text")

local M = {}

---@class mercury.Candidate
---@field rest string what is still to insert at the cursor
---@field replace_after integer bytes after the cursor that the item's range replaces (auto-closed brackets)
---@field snippet string|nil the raw snippet, while nothing of it has been typed or accepted yet
---@field typed_len integer bytes before the cursor that the item's range replaces
---@field indent string|nil the indentation the item puts in place of the typed one (a closer that the
--- editor's auto-indent put too deep), until it is accepted
---@field command table|nil run after the item is accepted

---@class mercury.Shown
---@field candidates mercury.Candidate[]
---@field index integer
---@field row integer 0-based row of the cursor the ghost text starts at
---@field col integer byte column of that cursor
---@field tick integer changedtick the ghost text is valid for
---@field client vim.lsp.Client

local shown = {} ---@type table<integer, mercury.Shown>
local seen = {} ---@type table<integer, {tick: integer, row: integer, col: integer}>
local group = vim.api.nvim_create_augroup("mercury.inline", { clear = true })

--- An item of the answer as ghost text at the request's cursor, or nil when it cannot be one.
---@return mercury.Candidate|nil
local function candidate(bufnr, item, snap)
  local plain, is_snippet = text.item_text(item.insertText)
  local line = vim.api.nvim_buf_get_lines(bufnr, snap.row, snap.row + 1, false)[1] or ""
  local typed, replace_after = "", 0
  if item.range then
    local s, e = item.range.start, item.range["end"]
    if s.line ~= snap.row or e.line ~= snap.row then
      return nil -- only ranges on the cursor line make sense as ghost text
    end
    local enc = snap.client.offset_encoding
    local scol, ecol = compat.byte_col(line, s.character, enc), compat.byte_col(line, e.character, enc)
    if scol > snap.col or ecol < snap.col then
      return nil
    end
    typed, replace_after = line:sub(scol + 1, snap.col), ecol - snap.col
  end
  -- An item that changes the indentation shows its text at the cursor, as VS Code does.
  local rest, indent = text.rest_and_indent(plain, typed, line:sub(1, snap.col))
  if not rest or rest == line:sub(snap.col + 1, snap.col + replace_after) then
    return nil -- nothing to add, or only what is already after the cursor
  end
  return {
    rest = rest,
    replace_after = replace_after,
    snippet = is_snippet and item.insertText.value or nil,
    typed_len = #typed,
    indent = indent,
    command = item.command,
  }
end

local function render(bufnr)
  local st = shown[bufnr]
  local c = st.candidates[st.index]
  local display = c.rest
  if c.replace_after > 0 and not display:find("\n") then
    -- The item replaces text after the cursor (an auto-closed ")"): when the suggestion ends with that
    -- text, leave it off the ghost so the line reads as it will after accepting.
    local line = vim.api.nvim_buf_get_lines(bufnr, st.row, st.row + 1, false)[1] or ""
    local replaced = line:sub(st.col + 1, st.col + c.replace_after)
    if vim.endswith(display, replaced) then
      display = display:sub(1, #display - #replaced)
    end
  end
  ghost.show(bufnr, st.row, st.col, display, config.current.suggestion.hl_group)
end

---@param bufnr integer
function M.clear(bufnr)
  shown[bufnr] = nil
  ghost.clear(bufnr)
end

local function on_result(bufnr, result, snap)
  local candidates = {}
  for _, item in ipairs(result.items or result) do
    candidates[#candidates + 1] = candidate(bufnr, item, snap)
  end
  if #candidates == 0 then
    return
  end
  shown[bufnr] = { candidates = candidates, index = 1, row = snap.row, col = snap.col, tick = snap.tick,
    client = snap.client }
  render(bufnr)
end

--- Keep only the candidates that continue with `typed`, advanced past it. False when the shown
--- one does not, or when nothing would be left to show.
local function advance(st, typed)
  local current = text.remaining(st.candidates[st.index].rest, typed)
  if not current or current == "" then
    return false
  end
  local kept = {}
  for i, c in ipairs(st.candidates) do
    local rest = text.remaining(c.rest, typed)
    if rest and rest ~= "" then
      c.rest, c.snippet = rest, nil
      kept[#kept + 1] = c
      if i == st.index then
        st.index = #kept
      end
    end
  end
  st.candidates = kept
  return true
end

--- The user typed characters that the ghost text predicted: keep showing the rest, send nothing.
local function typed_through(bufnr, st, row, col)
  if row ~= st.row or col <= st.col or st.candidates[st.index].indent then
    return false -- typed after indentation the shown item would change: ask again
  end
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  return advance(st, line:sub(st.col + 1, col))
end

--- Request a suggestion now for the current buffer (no debounce).
---@param bufnr integer
---@param trigger_kind integer 1 Invoked, 2 Automatic
function M.request_now(bufnr, trigger_kind)
  local client = server.client(bufnr)
  if client then
    request.send(bufnr, client, trigger_kind, function(result, snap)
      on_result(bufnr, result, snap)
    end)
  end
end

--- CursorMovedI and TextChangedI both land here: Neovim fires the first, then the second, for one
--- typed key, so whichever comes second sees nothing new and returns.
local function on_change(bufnr)
  local tick = vim.b[bufnr].changedtick
  local cursor = vim.api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local last = seen[bufnr] or {}
  local changed = tick ~= last.tick
  if not changed and row == last.row and col == last.col then
    return
  end
  seen[bufnr] = { tick = tick, row = row, col = col }
  local st = shown[bufnr]
  if st then
    if st.tick == tick and row == st.row and col == st.col then
      return -- our own edit (a partial accept)
    end
    if changed and typed_through(bufnr, st, row, col) then
      st.row, st.col, st.tick = row, col, tick
      render(bufnr)
      return
    end
    M.clear(bufnr)
  end
  if changed and config.current.suggestion.auto_trigger then
    request.debounce(bufnr, config.current.suggestion.debounce, function()
      if vim.api.nvim_get_current_buf() == bufnr and vim.startswith(vim.api.nvim_get_mode().mode, "i") then
        M.request_now(bufnr, 2)
      end
    end)
  else
    request.cancel(bufnr) -- the cursor moved away: the answer would be for the old position
  end
end

---@param bufnr integer
function M.attach(bufnr)
  vim.api.nvim_clear_autocmds({ group = group, buffer = bufnr })
  seen[bufnr] = nil
  vim.api.nvim_create_autocmd({ "CursorMovedI", "TextChangedI" }, {
    group = group,
    buffer = bufnr,
    callback = function() on_change(bufnr) end,
  })
  vim.api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      request.cancel(bufnr)
      M.clear(bufnr)
    end,
  })
end

---@param bufnr integer
function M.detach(bufnr)
  vim.api.nvim_clear_autocmds({ group = group, buffer = bufnr })
  request.forget(bufnr)
  M.clear(bufnr)
  seen[bufnr] = nil
end

---@param bufnr integer
---@return boolean
function M.visible(bufnr)
  return shown[bufnr] ~= nil
end

--- Put a re-indenting candidate's indentation in place of what its range covers before the cursor.
local function reindent(bufnr, st, c)
  if not c.indent then
    return
  end
  local start_col = st.col - c.typed_len
  vim.api.nvim_buf_set_text(bufnr, st.row, start_col, st.row, st.col, { c.indent })
  st.col, c.indent, c.typed_len = start_col + #c.indent, nil, 0
  vim.api.nvim_win_set_cursor(0, { st.row + 1, st.col })
end

--- Insert `part` (a prefix of the shown candidate) at the cursor and keep showing what is left.
local function accept_part(bufnr, st, part)
  reindent(bufnr, st, st.candidates[st.index])
  local row, col = st.row, st.col
  vim.api.nvim_buf_set_text(bufnr, row, col, row, col, text.lines(part))
  local r, c = text.end_position(row, col, part)
  vim.api.nvim_win_set_cursor(0, { r + 1, c })
  advance(st, part)
  st.row, st.col, st.tick = r, c, vim.b[bufnr].changedtick
  seen[bufnr] = { tick = st.tick, row = r, col = c }
  render(bufnr)
end

--- Accept the whole shown candidate, replacing what its range covers after the cursor.
local function accept_all(bufnr, st)
  local c = st.candidates[st.index]
  M.clear(bufnr)
  request.cancel(bufnr)
  local snippet = c.snippet and vim.snippet
  if not snippet then
    reindent(bufnr, st, c)
  end
  local line = vim.api.nvim_buf_get_lines(bufnr, st.row, st.row + 1, false)[1] or ""
  local end_col = math.min(st.col + c.replace_after, #line)
  if snippet then
    local start_col = math.max(st.col - c.typed_len, 0)
    vim.api.nvim_buf_set_text(bufnr, st.row, start_col, st.row, end_col, { "" })
    vim.api.nvim_win_set_cursor(0, { st.row + 1, start_col })
    vim.snippet.expand(c.snippet)
  else
    vim.api.nvim_buf_set_text(bufnr, st.row, st.col, st.row, end_col, text.lines(c.rest))
    local r, col = text.end_position(st.row, st.col, c.rest)
    vim.api.nvim_win_set_cursor(0, { r + 1, col })
  end
  if c.command then
    compat.exec_cmd(st.client, c.command, bufnr)
  end
end

--- Accept all (`pick` nil) or the prefix `pick(rest)` of the shown suggestion.
---@param bufnr integer
---@param pick nil|fun(rest: string): string
---@return boolean accepted
function M.accept(bufnr, pick)
  local st = shown[bufnr]
  if not st or vim.api.nvim_get_current_buf() ~= bufnr then
    return false
  end
  local rest = st.candidates[st.index].rest
  local part = pick and pick(rest) or rest
  if part == "" then
    return false
  end
  if #part >= #rest then
    accept_all(bufnr, st)
  else
    accept_part(bufnr, st, part)
  end
  return true
end

---@param bufnr integer
---@return boolean dismissed
function M.dismiss(bufnr)
  request.cancel(bufnr)
  local had = shown[bufnr] ~= nil
  M.clear(bufnr)
  return had
end

--- Show the candidate `step` places away (wrapping); false when there is only one.
---@param bufnr integer
---@param step integer
---@return boolean
function M.cycle(bufnr, step)
  local st = shown[bufnr]
  if not st or #st.candidates < 2 then
    return false
  end
  st.index = (st.index - 1 + step) % #st.candidates + 1
  render(bufnr)
  return true
end

return M

--- Buffer-local insert-mode keys. Each calls the matching function of require("mercury"); when that
--- returns false (no ghost text shown) the key does what it did before: the mapping it shadows runs
--- (Neovim 0.11 maps <Tab> to snippet jumps, users map it to completion menus), else the plain key.

local M = {}

local descriptions = {
  accept = "Accept the suggestion",
  accept_word = "Accept the next word of the suggestion",
  accept_line = "Accept the next line of the suggestion",
  dismiss = "Dismiss the suggestion",
  next = "Next suggestion",
  prev = "Previous suggestion",
  trigger = "Request a suggestion now",
}

---@type table<integer, string[]>
local mapped = {}

local function feed(keys, noremap)
  vim.api.nvim_feedkeys(keys, noremap and "ni" or "mi", false)
end

--- A function that replays what `key` did in `bufnr` before we mapped it.
---@return fun()
local function previous(bufnr, key)
  local prev = vim.api.nvim_buf_call(bufnr, function()
    return vim.fn.maparg(key, "i", false, true)
  end)
  if vim.tbl_isempty(prev) then
    return function() feed(vim.keycode(key), true) end
  end
  local noremap = prev.noremap == 1
  return function()
    local keys
    if prev.callback then
      keys = prev.callback()
    elseif prev.expr == 1 then
      keys = vim.api.nvim_eval(prev.rhs)
    else
      keys = prev.rhs
    end
    if prev.expr ~= 1 or prev.replace_keycodes == 1 or not prev.callback then
      keys = type(keys) == "string" and vim.keycode(keys) or keys
    end
    if type(keys) == "string" and keys ~= "" then
      feed(keys, noremap)
    end
  end
end

---@param bufnr integer
---@param keymap mercury.KeymapConfig
function M.apply(bufnr, keymap)
  M.remove(bufnr)
  mapped[bufnr] = {}
  for action, key in pairs(keymap) do
    if key then
      local fallback = previous(bufnr, key)
      vim.keymap.set("i", key, function()
        if not require("mercury")[action]() then
          fallback()
        end
      end, { buffer = bufnr, desc = "mercury: " .. descriptions[action] })
      table.insert(mapped[bufnr], key)
    end
  end
end

---@param bufnr integer
function M.remove(bufnr)
  for _, key in ipairs(mapped[bufnr] or {}) do
    pcall(vim.keymap.del, "i", key, { buffer = bufnr })
  end
  mapped[bufnr] = nil
end

return M

--- Keymap section: insert-mode keys, buffer-local to buffers the server is attached to.
--- A key set to `false` is not mapped. When no ghost text is shown, each key does what it did before.

---@class (exact) mercury.KeymapConfig
---@field accept string|false Accept the whole suggestion
---@field accept_word string|false Accept up to the end of the next word
---@field accept_line string|false Accept up to the end of the current line of the suggestion
---@field dismiss string|false Hide the suggestion
---@field next string|false Show the next candidate
---@field prev string|false Show the previous candidate
---@field trigger string|false Ask for a suggestion now (an Invoked request, no debounce)

local M = {}

---@type mercury.KeymapConfig
M.default = {
  accept = "<Tab>",
  accept_word = "<C-Right>",
  accept_line = "<S-Tab>",
  dismiss = "<C-]>",
  next = "<M-]>",
  prev = "<M-[>",
  trigger = "<M-\\>",
}

local function key_or_false(v)
  return v == false or (type(v) == "string" and v ~= "")
end

function M.spec(c)
  local spec = {}
  for name in pairs(M.default) do
    spec[name] = { c[name], key_or_false, "a key such as \"<Tab>\", or false" }
  end
  return spec
end

return M

--- Suggestion section: when ghost text is requested and how it is drawn.

---@class (exact) mercury.SuggestionConfig
---@field auto_trigger boolean Request completions while typing in insert mode
---@field debounce integer Milliseconds of typing pause before a request is sent (Neovim 0.10/0.11 only; 0.12's built-in
--- waits 200 ms). Short on purpose: the server adds its own debounce, adapted to the typing pace.
---@field backend "auto"|"builtin"|"plugin" "auto": the built-in vim.lsp.inline_completion on 0.12+, else "plugin"
---@field hl_group string Highlight group of the ghost text (MercuryGhost links to Comment by default)

local M = {}

---@type mercury.SuggestionConfig
M.default = {
  auto_trigger = true,
  debounce = 30,
  backend = "auto",
  hl_group = "MercuryGhost",
}

function M.spec(c)
  return {
    auto_trigger = { c.auto_trigger, "boolean" },
    debounce = { c.debounce, function(v)
      return type(v) == "number" and v >= 0 and v <= 5000 and v == math.floor(v)
    end, "an integer number of milliseconds between 0 and 5000" },
    backend = { c.backend, function(v) return v == "auto" or v == "builtin" or v == "plugin" end,
      '"auto", "builtin" or "plugin"' },
    hl_group = { c.hl_group, "string" },
  }
end

return M

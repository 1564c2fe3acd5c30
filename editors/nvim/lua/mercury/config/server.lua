--- Server section of the configuration: how `mercury-lsp` is started.

---@class (exact) mercury.ServerConfig
---@field cmd string[] Executable and leading arguments, e.g. `{ "mercury-lsp" }` or `{ "/venv/bin/mercury-lsp" }`
---@field model string|false Model name or folder, passed as `--model`; false lets the server pick its default
---@field args string[] Extra arguments appended after `--model`, e.g. `{ "--log-file", "/tmp/m.log" }`
---@field multiline "auto"|"always"|"never" Whether completions may span lines ("auto": the server decides)
---@field settings table More server settings, camelCase as in the server's lsp/config.py, e.g. `{ tau = 0.8 }`
---@field root_markers string[] Files that mark a project root (only the reported root folder; one server serves all)

local M = {}

---@type mercury.ServerConfig
M.default = {
  cmd = { "mercury-lsp" },
  model = "coder-mini",
  args = {},
  multiline = "auto",
  settings = {},
  root_markers = { ".git", "pyproject.toml", "package.json", "go.mod", "Cargo.toml" },
}

---@return table<string, {[1]: any, [2]: vim.validate.Validator, [3]: boolean?}>
function M.spec(c)
  return {
    cmd = { c.cmd, function(v)
      return type(v) == "table" and #v > 0 and vim.iter(v):all(function(s) return type(s) == "string" end)
    end, "a non-empty list of strings" },
    model = { c.model, function(v) return v == false or (type(v) == "string" and v ~= "") end,
      "a model name or folder, or false" },
    args = { c.args, "table" },
    multiline = { c.multiline, function(v) return v == "auto" or v == "always" or v == "never" end,
      '"auto", "always" or "never"' },
    settings = { c.settings, "table" },
    root_markers = { c.root_markers, "table" },
  }
end

return M

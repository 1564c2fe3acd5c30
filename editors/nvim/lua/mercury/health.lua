--- :checkhealth mercury: Neovim version and backend, the server executable, the running client and
--- whether it advertises inline completion, and the problems setup() found in the options.

local compat = require("mercury.compat")
local config = require("mercury.config")
local server = require("mercury.server")
local status = require("mercury.status")

local M = {}

local function check_neovim()
  vim.health.start("mercury: Neovim")
  local v = vim.version()
  local version = ("%d.%d.%d"):format(v.major, v.minor, v.patch)
  if vim.fn.has("nvim-0.10") == 0 then
    vim.health.error("Neovim " .. version .. " is too old: 0.10 or newer is required")
    return
  end
  local builtin = config.current.suggestion.backend ~= "plugin" and compat.has_builtin_inline
  vim.health.ok(("Neovim %s: ghost text from %s"):format(version,
    builtin and "the built-in vim.lsp.inline_completion" or "this plugin (extmarks in namespace \"mercury\")"))
end

local function check_server()
  vim.health.start("mercury: server")
  local argv = server.command(config.current.server)
  vim.health.info("command: " .. table.concat(argv, " "))
  if vim.fn.executable(argv[1]) == 1 then
    vim.health.ok(argv[1] .. " found at " .. vim.fn.exepath(argv[1]))
  else
    vim.health.error(argv[1] .. " is not executable", {
      "Install the Python package (pip install -e . in the mercury-lsp checkout, or pip install mercury-lsp)",
      "or set server.cmd to the full path, e.g. { \"/path/to/.venv/bin/mercury-lsp\" }",
    })
  end
  local client = server.client()
  if not client then
    vim.health.info("not running: it starts when a buffer of a configured filetype opens ("
      .. table.concat(config.current.filetypes, ", ") .. ")")
    return
  end
  vim.health.ok(("running (client %d), %s"):format(client.id, status.line(config.current.server.model)))
  if client.server_capabilities and client.server_capabilities.inlineCompletionProvider then
    vim.health.ok("the server advertises textDocument/inlineCompletion")
  else
    vim.health.error("the server does not advertise textDocument/inlineCompletion: no ghost text will appear")
  end
end

local function check_config()
  vim.health.start("mercury: configuration")
  if not require("mercury").is_setup then
    vim.health.warn("require(\"mercury\").setup() has not been called")
    return
  end
  if #require("mercury").problems == 0 then
    vim.health.ok("options are valid")
  end
  for _, problem in ipairs(require("mercury").problems) do
    vim.health.warn(problem)
  end
  local keys = {}
  for action, key in pairs(config.current.keymap) do
    if key then keys[#keys + 1] = ("%s=%s"):format(action, key) end
  end
  table.sort(keys)
  vim.health.info("insert-mode keys: " .. table.concat(keys, ", "))
  if not config.current.enabled then
    vim.health.warn("suggestions are disabled (:Mercury enable)")
  end
end

function M.check()
  check_neovim()
  check_server()
  check_config()
end

return M

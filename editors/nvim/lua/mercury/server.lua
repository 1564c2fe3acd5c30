--- Starting `mercury-lsp`: the command line built from the options, and one client shared by every
--- buffer of the configured filetypes (one process per Neovim, whatever the project root, so the model
--- is loaded once; see lsp-anchors.md on copilot.lua#667, one server per buffer root costing gigabytes).

local compat = require("mercury.compat")

local M = {}

M.name = "mercury"

--- The server's argv: `cmd`, then `--model MODEL` unless model is false, then the extra `args`.
---@param server mercury.ServerConfig
---@return string[]
function M.command(server)
  local argv = vim.list_extend({}, server.cmd)
  if server.model then
    vim.list_extend(argv, { "--model", server.model })
  end
  return vim.list_extend(argv, server.args)
end

--- The server's settings: sent as initializationOptions, as workspace/didChangeConfiguration, and as
--- the answer to workspace/configuration for the "mercury" section.
---@param server mercury.ServerConfig
---@return table
function M.settings(server)
  return vim.tbl_deep_extend("force", { multiline = server.multiline }, server.settings)
end

--- Client capabilities plus inline completion, which Neovim only announces itself from 0.12 on.
---@return table
function M.capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument = caps.textDocument or {}
  caps.textDocument.inlineCompletion = caps.textDocument.inlineCompletion or { dynamicRegistration = false }
  return caps
end

--- Whether the server should attach to `bufnr` under `config`.
---@param bufnr integer
---@param config mercury.Config
---@return boolean
function M.wants(bufnr, config)
  if not config.enabled or vim.bo[bufnr].buftype ~= "" then
    return false
  end
  local ft = vim.bo[bufnr].filetype
  return ft ~= "" and (vim.list_contains(config.filetypes, "*") or vim.list_contains(config.filetypes, ft))
end

--- Start the shared client if needed and attach it to `bufnr`.
---@param bufnr integer
---@param config mercury.Config
---@param hooks {on_init: fun(), on_exit: fun()}
---@return integer|nil client_id
function M.attach(bufnr, config, hooks)
  local settings = M.settings(config.server)
  return vim.lsp.start({
    name = M.name,
    cmd = M.command(config.server),
    root_dir = vim.fs.root(bufnr, config.server.root_markers) or vim.fn.getcwd(),
    init_options = settings,
    settings = { mercury = settings },
    capabilities = M.capabilities(),
    on_init = function() hooks.on_init() end,
    on_exit = vim.schedule_wrap(function() hooks.on_exit() end),
  }, {
    bufnr = bufnr,
    reuse_client = function(client, new)
      return client.name == new.name and not client.is_stopped(client)
    end,
  })
end

--- The running (not stopping) mercury client, attached to `bufnr` when given.
---@param bufnr integer|nil
---@return vim.lsp.Client|nil
function M.client(bufnr)
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name, bufnr = bufnr })) do
    if not client.is_stopped(client) then
      return client
    end
  end
end

--- Stop every mercury client; returns the buffers they were attached to.
---@return integer[]
function M.stop()
  local buffers = {}
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name })) do
    vim.list_extend(buffers, vim.tbl_keys(client.attached_buffers))
    compat.stop(client)
  end
  return buffers
end

return M

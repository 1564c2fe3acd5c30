--- mercury.nvim: ghost-text completions from `mercury-lsp`.
---
--- `require("mercury").setup(opts)` starts the server for the configured filetypes. On Neovim 0.12+
--- the built-in vim.lsp.inline_completion shows suggestions (native.lua); on 0.10/0.11 this plugin
--- requests and draws them itself (inline.lua). See :help mercury.

local compat = require("mercury.compat")
local config = require("mercury.config")
local keymaps = require("mercury.keymaps")
local server = require("mercury.server")
local status = require("mercury.status")
local text = require("mercury.text")

local M = {}

---@type string[] messages from the last setup(), shown by :checkhealth mercury
M.problems = {}
M.is_setup = false

---@type table<integer, {backend: table, client_id: integer}>
local attached = {}

local function backend()
  local choice = config.current.suggestion.backend
  if choice == "builtin" or (choice == "auto" and compat.has_builtin_inline) then
    return require("mercury.native")
  end
  return require("mercury.inline")
end

local function detach(bufnr)
  local a = attached[bufnr]
  if a then
    a.backend.detach(bufnr)
    keymaps.remove(bufnr)
    attached[bufnr] = nil
  end
end

local function attach(bufnr, client_id)
  detach(bufnr)
  if not config.current.enabled then
    return
  end
  local b = backend()
  b.attach(bufnr)
  keymaps.apply(bufnr, config.current.keymap)
  attached[bufnr] = { backend = b, client_id = client_id }
end

local hooks = {
  -- mercury-lsp loads its model after initialize and reports it with $/progress; until that ends
  -- (or, for a server that reports nothing, until the first answer) the state stays "loading".
  on_init = function() status.on_progress({ kind = "begin", message = "initializing" }) end,
  on_exit = function()
    if not server.client() then status.set_state("stopped") end -- not when a restart's new one runs
  end,
}

local function start(bufnr)
  if not server.wants(bufnr, config.current) then
    return
  end
  local client = server.client(bufnr)
  if client then
    attach(bufnr, client.id) -- already attached (e.g. after :Mercury enable)
    return
  end
  if not server.client() then
    status.set_state("starting")
  end
  if not server.attach(bufnr, config.current, hooks) then
    -- vim.lsp.start has already said why (usually: the command is not executable).
    status.set_state("failed")
    status.current.failure = "could not start " .. table.concat(server.command(config.current.server), " ")
  end
end

local function create_autocmds()
  local group = vim.api.nvim_create_augroup("mercury", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    callback = function(ev) start(ev.buf) end,
  })
  local function ours(ev)
    local client = vim.lsp.get_client_by_id(ev.data.client_id)
    return client ~= nil and client.name == server.name
  end
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(ev)
      if ours(ev) then attach(ev.buf, ev.data.client_id) end
    end,
  })
  vim.api.nvim_create_autocmd("LspDetach", {
    group = group,
    callback = function(ev)
      local a = attached[ev.buf]
      if a and a.client_id == ev.data.client_id then detach(ev.buf) end
    end,
  })
  vim.api.nvim_create_autocmd("LspProgress", {
    group = group,
    callback = function(ev)
      local value = vim.tbl_get(ev, "data", "params", "value")
      if ours(ev) and type(value) == "table" then status.on_progress(value) end
    end,
  })
end

--- Configure and start. Safe to call again: options are rebuilt from the defaults, autocmds and
--- keymaps replaced, and the server restarted only when its command line or options changed.
---@param opts mercury.Config|table|nil
function M.setup(opts)
  if vim.fn.has("nvim-0.10") == 0 then
    vim.notify("mercury: Neovim 0.10 or newer is required", vim.log.levels.ERROR)
    return
  end
  local previous = M.is_setup and vim.deepcopy(config.current.server) or nil
  local cfg, problems = config.build(opts)
  if cfg.suggestion.backend == "builtin" and not compat.has_builtin_inline then
    problems[#problems + 1] = 'suggestion.backend: "builtin" needs Neovim 0.12 (using this plugin\'s ghost text)'
    cfg.suggestion.backend = "plugin"
  end
  for _, problem in ipairs(problems) do
    vim.notify("mercury: " .. problem, vim.log.levels.WARN)
  end
  for bufnr in pairs(attached) do
    detach(bufnr)
  end
  config.current, M.problems, M.is_setup = cfg, problems, true
  create_autocmds()
  if previous and not vim.deep_equal(previous, cfg.server) then
    M.restart()
    return
  end
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then start(bufnr) end
  end
end

local function with_backend(fn)
  local bufnr = vim.api.nvim_get_current_buf()
  local a = attached[bufnr]
  return a ~= nil and fn(a.backend, bufnr) or false
end

--- Accept the whole suggestion. Returns false when none is shown (for use in your own mappings).
---@return boolean
function M.accept()
  return with_backend(function(b, bufnr) return b.accept(bufnr) end)
end

---@return boolean
function M.accept_word()
  return with_backend(function(b, bufnr) return b.accept(bufnr, text.next_word) end)
end

---@return boolean
function M.accept_line()
  return with_backend(function(b, bufnr) return b.accept(bufnr, text.next_line) end)
end

---@return boolean
function M.dismiss()
  return with_backend(function(b, bufnr) return b.dismiss(bufnr) end)
end

---@return boolean
function M.next()
  return with_backend(function(b, bufnr) return b.cycle(bufnr, 1) end)
end

---@return boolean
function M.prev()
  return with_backend(function(b, bufnr) return b.cycle(bufnr, -1) end)
end

--- Request a suggestion at the cursor now, without waiting for the debounce.
---@return boolean
function M.trigger()
  return with_backend(function(b, bufnr)
    b.request_now(bufnr, 1)
    return true
  end)
end

---@return boolean
function M.is_visible()
  return with_backend(function(b, bufnr) return b.visible(bufnr) end)
end

function M.enable()
  config.current.enabled = true
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then start(bufnr) end
  end
end

--- Stop suggesting; the server keeps running so that enabling again is instant.
function M.disable()
  config.current.enabled = false
  for bufnr in pairs(attached) do
    detach(bufnr)
  end
end

function M.toggle()
  if config.current.enabled then M.disable() else M.enable() end
end

--- Stop the server and start a fresh one for every buffer that wants it.
function M.restart()
  for bufnr in pairs(attached) do
    detach(bufnr)
  end
  server.stop()
  status.set_state("off")
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then start(bufnr) end
  end
end

--- "mercury coder-mini ready 142ms", for a statusline.
---@return string
function M.statusline()
  return status.line(config.current.server.model)
end

--- Print the state and the server's counters (the `mercury/stats` request).
function M.show_status()
  local client = server.client()
  local function report(stats)
    vim.notify(table.concat(status.describe(config.current.server.model, stats), "\n"), vim.log.levels.INFO)
  end
  if not client then
    report(nil)
    return
  end
  status.fetch_stats(client, vim.schedule_wrap(function(_, stats) report(stats) end))
end

return M

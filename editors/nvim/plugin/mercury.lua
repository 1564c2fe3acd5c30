-- Only the :Mercury command lives here; everything else loads on require("mercury").setup().
if vim.g.loaded_mercury then
  return
end
vim.g.loaded_mercury = true

local subcommands = {
  enable = function() require("mercury").enable() end,
  disable = function() require("mercury").disable() end,
  toggle = function() require("mercury").toggle() end,
  restart = function() require("mercury").restart() end,
  status = function() require("mercury").show_status() end,
  log = function() vim.cmd.tabnew(vim.lsp.get_log_path()) end,
}

vim.api.nvim_create_user_command("Mercury", function(opts)
  local name = opts.fargs[1] or "status"
  local run = subcommands[name]
  if not run then
    vim.notify("mercury: unknown subcommand " .. name, vim.log.levels.ERROR)
    return
  end
  run()
end, {
  nargs = "?",
  desc = "mercury: enable | disable | toggle | restart | status | log",
  complete = function(lead)
    return vim.tbl_filter(function(name)
      return vim.startswith(name, lead)
    end, vim.tbl_keys(subcommands))
  end,
})

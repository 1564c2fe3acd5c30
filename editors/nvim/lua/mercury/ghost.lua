--- Ghost text: one extmark in the "mercury" namespace. The first line of a suggestion is inline
--- virtual text at the cursor; the other lines are virtual lines below the cursor line.

local text = require("mercury.text")

local M = {}

M.ns = vim.api.nvim_create_namespace("mercury")

vim.api.nvim_set_hl(0, "MercuryGhost", { link = "Comment", default = true })

--- Draw `suggestion` at (row, col) of `bufnr`, replacing any ghost text there.
---@param bufnr integer
---@param row integer 0-based line
---@param col integer byte column
---@param suggestion string
---@param hl_group string
function M.show(bufnr, row, col, suggestion, hl_group)
  M.clear(bufnr)
  if suggestion == "" then
    return
  end
  local ts = vim.bo[bufnr].tabstop
  local lines = text.lines(suggestion)
  local opts = { hl_mode = "combine" }
  if lines[1] ~= "" then
    opts.virt_text = { { text.expand_tabs(lines[1], ts), hl_group } }
    opts.virt_text_pos = "inline"
  end
  if #lines > 1 then
    opts.virt_lines = {}
    for i = 2, #lines do
      -- An empty chunk list would draw nothing; a space keeps blank lines of the suggestion visible.
      local shown = lines[i] == "" and " " or text.expand_tabs(lines[i], ts)
      opts.virt_lines[#opts.virt_lines + 1] = { { shown, hl_group } }
    end
  end
  vim.api.nvim_buf_set_extmark(bufnr, M.ns, row, col, opts)
end

---@param bufnr integer
function M.clear(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

--- Whether ghost text is drawn in `bufnr`.
---@param bufnr integer
---@return boolean
function M.visible(bufnr)
  return #vim.api.nvim_buf_get_extmarks(bufnr, M.ns, 0, -1, { limit = 1 }) > 0
end

return M

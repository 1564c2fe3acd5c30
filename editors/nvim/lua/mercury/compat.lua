--- Small shims over the Neovim 0.10 / 0.11 / 0.12 differences in the LSP client API.

local M = {}

M.has_011 = vim.fn.has("nvim-0.11") == 1
M.has_builtin_inline = vim.fn.has("nvim-0.12") == 1 and vim.lsp.inline_completion ~= nil

--- Send a request; returns the request id or nil.
---@param client vim.lsp.Client
---@return integer|nil
function M.request(client, method, params, handler, bufnr)
  local ok, id
  if M.has_011 then
    ok, id = client:request(method, params, handler, bufnr)
  else
    ok, id = client.request(method, params, handler, bufnr)
  end
  return ok and id or nil
end

---@param client vim.lsp.Client
function M.cancel(client, id)
  if M.has_011 then
    client:cancel_request(id)
  else
    client.cancel_request(id)
  end
end

--- Run an item's `command` after it was accepted (the server counts accepts through it).
---@param client vim.lsp.Client
---@param command lsp.Command
function M.exec_cmd(client, command, bufnr)
  if M.has_011 then
    client:exec_cmd(command, { bufnr = bufnr })
  else
    M.request(client, "workspace/executeCommand", { command = command.command, arguments = command.arguments },
      function() end, bufnr)
  end
end

---@param client vim.lsp.Client
function M.stop(client)
  if M.has_011 then
    client:stop()
  else
    client.stop()
  end
end

--- Byte column in `line` of an LSP `character` offset in the client's position encoding.
---@param line string
---@param character integer
---@param encoding string "utf-8" | "utf-16" | "utf-32"
---@return integer
function M.byte_col(line, character, encoding)
  if encoding == "utf-8" then
    return math.min(character, #line)
  end
  local ok, col
  if M.has_011 then
    ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  else
    ok, col = pcall(vim.str_byteindex, line, character, encoding == "utf-16")
  end
  return ok and col or #line
end

return M

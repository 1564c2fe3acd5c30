--- Pure text helpers for suggestions: what to show, and how much a partial accept takes.
--- No buffer or window access here, so tests/editors/nvim/unit.lua checks them directly.

local M = {}

--- The plain text of an item's insertText, and whether it was a snippet.
---@param insert_text string|{kind: string, value: string}
---@return string text
---@return boolean is_snippet
function M.item_text(insert_text)
  if type(insert_text) == "string" then
    return insert_text, false
  end
  local value = insert_text.value or ""
  local ok, grammar = pcall(require, "vim.lsp._snippet_grammar")
  if ok then
    local parsed_ok, parsed = pcall(grammar.parse, value)
    if parsed_ok then
      return tostring(parsed), true
    end
  end
  -- Fallback: keep placeholder defaults, drop tabstops.
  local plain = value:gsub("%${%d+:([^}]*)}", "%1"):gsub("%$%d+", ""):gsub("%${%d+}", "")
  return plain, true
end

--- The part of `text` still to insert once `typed` (the buffer text from the item's range start to
--- the cursor) is accounted for; nil when the item does not start with what was typed.
---@param text string
---@param typed string
---@return string|nil
function M.remaining(text, typed)
  if typed == "" then
    return text
  end
  if text:sub(1, #typed) == typed then
    return text:sub(#typed + 1)
  end
  return nil
end

--- Like `remaining`, for an item whose range covers indentation it changes rather than extends (a
--- `}` after Enter on a block's last line, the new line indented like the body): when the line
--- before the cursor is blank, the item's text without its indentation, and that indentation,
--- which accepting puts in place of `typed`. Otherwise `remaining`'s answer and nil.
---@param text string
---@param typed string
---@param line_before string the cursor's line up to the cursor
---@return string|nil rest
---@return string|nil indent
function M.rest_and_indent(text, typed, line_before)
  local rest = M.remaining(text, typed)
  if rest or not line_before:match("^[ \t]*$") then
    return rest, nil
  end
  local indent = text:match("^[ \t]*")
  return text:sub(#indent + 1), indent
end

--- The next word of a suggestion: leading blanks (line breaks included), then a run of punctuation,
--- then a run of identifier characters. "(a, b):" gives "(a", then ",", then " b", then "):".
---@param text string
---@return string
function M.next_word(text)
  return text:match("^%s*[^%w_%s]*[%w_]*")
end

--- The rest of the current suggestion line; when the suggestion continues on the next line,
--- the line break and that whole line.
---@param text string
---@return string
function M.next_line(text)
  return text:match("^\r?\n[^\n]*") or text:match("^[^\n]*")
end

--- Split on "\n" into lines (a trailing "\n" gives a final empty line, as nvim_buf_set_text wants).
---@param text string
---@return string[]
function M.lines(text)
  return vim.split(text, "\n", { plain = true })
end

--- Replace tabs by spaces for display in virtual text, which does not expand them.
---@param s string
---@param tabstop integer
---@return string
function M.expand_tabs(s, tabstop)
  return (s:gsub("\t", string.rep(" ", tabstop)))
end

--- Where the cursor ends after inserting `text` at (row, col): 0-based row, byte col.
---@return integer row
---@return integer col
function M.end_position(row, col, text)
  local lines = M.lines(text)
  if #lines == 1 then
    return row, col + #lines[1]
  end
  return row + #lines - 1, #lines[#lines]
end

return M

--- The plugin's configuration: defaults in one place, merged with the user's options and checked
--- where they enter. A bad value is reported once and replaced by its default; setup never fails.

---@class (exact) mercury.Config
---@field enabled boolean Start the server and show suggestions (`:Mercury toggle` flips it at run time)
---@field filetypes string[] Filetypes the server attaches to; `{ "*" }` means every normal file buffer
---@field server mercury.ServerConfig
---@field suggestion mercury.SuggestionConfig
---@field keymap mercury.KeymapConfig

local M = {}

local sections = {
  server = require("mercury.config.server"),
  suggestion = require("mercury.config.suggestion"),
  keymap = require("mercury.config.keymap"),
}

local top_default = {
  enabled = true,
  filetypes = { "python", "javascript", "javascriptreact", "typescript", "typescriptreact", "java", "go", "rust",
    "c", "cpp" },
}

---@return mercury.Config
function M.defaults()
  local d = vim.deepcopy(top_default)
  for name, section in pairs(sections) do
    d[name] = vim.deepcopy(section.default)
  end
  return d
end

local function is_string_list(v)
  return type(v) == "table" and vim.iter(v):all(function(s) return type(s) == "string" end)
end

local function top_spec(c)
  return {
    enabled = { c.enabled, "boolean" },
    filetypes = { c.filetypes, is_string_list, "a list of filetype names" },
  }
end

--- Run vim.validate on one field, on every supported Neovim version. A spec entry is
--- `{ value, validator, optional_or_message }` as in the table form of vim.validate.
---@return string|nil problem
local function check(name, entry)
  local value, validator, third = entry[1], entry[2], entry[3]
  local ok, err
  if vim.fn.has("nvim-0.11") == 1 then
    local optional = type(third) == "boolean" and third or nil
    local message = type(third) == "string" and third or nil
    ok, err = pcall(vim.validate, name, value, validator, optional, message)
  else
    ok, err = pcall(vim.validate, { [name] = { value, validator, third } })
  end
  return not ok and tostring(err) or nil
end

--- Replace each invalid field of `tbl` by its default and collect the messages.
local function repair(prefix, tbl, default, spec, problems)
  for key, entry in pairs(spec) do
    local problem = check(prefix .. key, entry)
    if problem then
      problems[#problems + 1] = problem .. " (using the default)"
      tbl[key] = vim.deepcopy(default[key])
    end
  end
  for key in pairs(tbl) do
    if default[key] == nil and spec[key] == nil then
      problems[#problems + 1] = ("unknown option %s%s (ignored)"):format(prefix, key)
      tbl[key] = nil
    end
  end
end

--- Merge user options over the defaults and validate them.
---@param user table|nil
---@return mercury.Config config
---@return string[] problems human-readable messages, empty when everything was valid
function M.build(user)
  local problems = {}
  local defaults = M.defaults()
  if user ~= nil and type(user) ~= "table" then
    problems[#problems + 1] = "setup() expects a table of options, got " .. type(user)
    user = nil
  end
  local config = vim.tbl_deep_extend("force", defaults, user or {})
  for name, section in pairs(sections) do
    if type(config[name]) ~= "table" then
      problems[#problems + 1] = ("%s: expected table, got %s (using the default)"):format(name, type(config[name]))
      config[name] = vim.deepcopy(defaults[name])
    end
  end
  local top_only = {}
  for key, value in pairs(config) do
    if not sections[key] then
      top_only[key] = value
    end
  end
  repair("", top_only, top_default, top_spec(top_only), problems)
  for key in pairs(config) do
    if not sections[key] then
      config[key] = top_only[key]
    end
  end
  for name, section in pairs(sections) do
    repair(name .. ".", config[name], section.default, section.spec(config[name]), problems)
  end
  return config, problems
end

---@type mercury.Config
M.current = M.defaults()

return M

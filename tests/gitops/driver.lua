-- Runs an Argo CD health script on one object, the way Argo CD does, and prints the result.
--
--   lua5.4 tests/gitops/driver.lua manifests/gitops/argocd-health.lua < object.lua
--
-- stdin is a Lua chunk returning the object as a table (tests/operating/gitops_health.rs writes it from a
-- sample's `object`). Output: the health status on the first line, the message after it.
--
-- Like Argo CD (util/lua/lua.go: gopher-lua with SkipOpenLibs, then only the base, table, package
-- and a safe os library opened), the script sees `obj`, the base functions and `table`, and
-- strings have no methods. A script that reaches for string, math, io or `s:find(...)` fails
-- here as it would in Argo CD, where it would show the resource as Unknown with a Lua error.
--
-- Exit codes: 0 printed a result; 2 bad usage or input; 3 the script failed; 4 it returned no
-- valid health.

local path = arg[1]
if path == nil then
  io.stderr:write("usage: lua5.4 driver.lua HEALTH_SCRIPT < OBJECT_CHUNK\n")
  os.exit(2)
end

local input = io.read("a")
local load_object, err = load(input, "=object", "t", {})
if load_object == nil then
  io.stderr:write("the object is not a Lua chunk: " .. err .. "\n")
  os.exit(2)
end
local object = load_object()

local file = io.open(path, "rb")
if file == nil then
  io.stderr:write("cannot read " .. path .. "\n")
  os.exit(2)
end
local source = file:read("a")
file:close()

local env = {
  obj = object,
  table = {
    concat = table.concat,
    insert = table.insert,
    remove = table.remove,
    sort = table.sort,
  },
}
for _, name in ipairs({
  "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "print", "rawequal",
  "rawget", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall",
}) do
  env[name] = _G[name]
end
env._G = env

local script, load_err = load(source, "=" .. path, "t", env)
if script == nil then
  io.stderr:write("the health script does not load: " .. load_err .. "\n")
  os.exit(3)
end

-- No string methods while the script runs.
local string_meta = getmetatable("")
local string_index = string_meta.__index
string_meta.__index = nil
local ok, hs = pcall(script)
string_meta.__index = string_index

if not ok then
  io.stderr:write("the health script failed: " .. tostring(hs) .. "\n")
  os.exit(3)
end

local valid = {
  Healthy = true, Progressing = true, Degraded = true, Suspended = true, Missing = true,
  Unknown = true,
}
if type(hs) ~= "table" or not valid[hs.status] then
  io.stderr:write("the health script returned no valid status\n")
  os.exit(4)
end
if hs.message ~= nil and type(hs.message) ~= "string" then
  io.stderr:write("the health script returned a message that is not a string\n")
  os.exit(4)
end

io.write(hs.status, "\n", hs.message or "", "\n")

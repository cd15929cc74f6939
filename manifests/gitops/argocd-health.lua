-- Argo CD health check for pitagora.dev/LogPipeline (v1alpha1).
--
-- Registered under resource.customizations.health.pitagora.dev_LogPipeline in argocd-cm
-- (manifests/gitops/argocd-cm.yaml carries this file inline; tests/operating/gitops_health.rs keeps the two
-- equal and runs this script on the samples in tests/gitops/).
--
-- Built from the controller's status (src/spec/status.rs, src/controller/status.rs,
-- src/controller/reasons.rs, whose condition types and reasons are stable API). The Stalled
-- condition (for kstatus) repeats a Synced/Ready reason that rules 1 and 4 already read, so
-- this script does not read it.
--
-- The first rule that matches decides, so the worst finding wins:
--
--  1. Synced=False written for the current generation (the condition's observedGeneration is
--     metadata.generation) -> Degraded, "<reason>: <message>". Reasons: InvalidSpec,
--     DestructiveChange (a change refused without spec.acknowledge), DeleteBlocked, AwsError
--     (AWS could not be read), ApplyFailed. Checked before rule 3 because AwsError,
--     DestructiveChange and DeleteBlocked leave status.observedGeneration at the last generation
--     that was checked: a refused change would otherwise look like an unobserved one forever.
--  2. metadata.deletionTimestamp set -> Progressing (the controller is removing the pipeline's
--     AWS resources; a failure there is DeleteBlocked, rule 1).
--  3. No status, no status.observedGeneration, or status.observedGeneration below
--     metadata.generation -> Progressing, "waiting for the controller to observe generation N".
--     Every rule below reads conditions that describe the current spec.
--  4. Ready=False with any reason but Pending (and but Drifted under drift.policy: Report) ->
--     Degraded: Conflict (a resource owned by someone else, a stuck stack, a service limit; Synced
--     stays True), Drifted (drift.policy: Correct, and AWS still differs after correcting), and
--     the reasons of rule 1.
--  5. Delivering=False -> Degraded: the last canary stopped; the message names the link.
--  6. CutoverBlocked=True with reason FluentdConflict (another field manager owns the fluentd
--     key) or FluentdFailed (the key or its reload could not be written) -> Degraded.
--  7. spec.drift.policy Report and Drifted=True -> Suspended, "drift reported, not corrected:
--     N items": the controller deliberately leaves AWS as it is.
--  8. CutoverBlocked=True with reason ReportOnly (the fluentd key differs and is only reported)
--     -> Suspended: the requested cutover move waits for a human, not for a check.
--  9. Ready=False Pending (a resource is mid-operation in AWS), Ready=Unknown, or no Ready yet
--     -> Progressing.
-- 10. CutoverBlocked=True (any other reason: NotDelivering, TooFewCanaries, LossSignals,
--     ShadowWindow, NoIncomingEvents, AwsNotReady) -> Progressing: a requested cutover move waits
--     for its check.
-- 11. Delivery verification disabled (spec.delivery.verify.enabled: false, or Delivering=Unknown
--     VerifyDisabled) -> Healthy: nothing proves that logs arrive, and nothing will.
-- 12. Delivering=Unknown (CanaryInFlight) or no Delivering yet -> Progressing, "waiting for the
--     first canary"; Delivering=Unknown with another reason (VerifyFailed: the canary could not be
--     sent or looked for; CanaryInconclusive) -> Progressing with that reason.
-- 13. Ready=True and Delivering=True -> Healthy.
--
-- Argo CD runs this with gopher-lua (Lua 5.1) and, unless useOpenLibs is set, only the base and
-- table libraries: no string, math or io functions, no string methods. The decoded object has nil
-- for absent fields and may carry numbers as strings, hence the checks and tonumber below.

local function number(v)
  if v == nil then
    return nil
  end
  return tonumber(v)
end

local function text(v)
  if v == nil then
    return ""
  end
  return tostring(v)
end

local function table_or_empty(v)
  if type(v) == "table" then
    return v
  end
  return {}
end

local metadata = table_or_empty(obj.metadata)
local spec = table_or_empty(obj.spec)
local status = obj.status
if type(status) ~= "table" then
  status = nil
end
local generation = number(metadata.generation)
local observed = nil
if status ~= nil then
  observed = number(status.observedGeneration)
end

-- Conditions by type.
local conditions = {}
if status ~= nil and type(status.conditions) == "table" then
  for _, c in ipairs(status.conditions) do
    if type(c) == "table" and c.type ~= nil then
      conditions[text(c.type)] = c
    end
  end
end

local function is(kind, value)
  local c = conditions[kind]
  return c ~= nil and c.status == value
end

local function reason(kind)
  local c = conditions[kind]
  if c == nil then
    return ""
  end
  return text(c.reason)
end

-- "Type=Status Reason: message" of a condition.
local function describe(kind)
  local c = conditions[kind]
  if c == nil then
    return kind .. " not reported yet"
  end
  local out = kind .. "="
  if text(c.status) == "" then
    out = out .. "?"
  else
    out = out .. text(c.status)
  end
  if text(c.reason) ~= "" then
    out = out .. " " .. text(c.reason)
  end
  if text(c.message) ~= "" then
    out = out .. ": " .. text(c.message)
  end
  return out
end

-- Whether a condition was written for the current generation.
local function current(kind)
  local c = conditions[kind]
  if c == nil then
    return false
  end
  if generation == nil then
    return true
  end
  local g = number(c.observedGeneration)
  if g == nil then
    g = observed
  end
  return g ~= nil and g >= generation
end

local report = type(spec.drift) == "table" and spec.drift.policy == "Report"
local verify_disabled = reason("Delivering") == "VerifyDisabled"
if type(spec.delivery) == "table" and type(spec.delivery.verify) == "table"
    and spec.delivery.verify.enabled == false then
  verify_disabled = true
end

local function done(health, message)
  return { status = health, message = message }
end

local function assess()
  -- 1. The last reconcile of this generation failed.
  if is("Synced", "False") and current("Synced") then
    return done("Degraded", describe("Synced"))
  end

  -- 2. Being deleted.
  if metadata.deletionTimestamp ~= nil then
    return done("Progressing", "deleting: waiting for the controller to remove the pipeline's AWS resources")
  end

  -- 3. The status does not describe this spec yet.
  if status == nil or observed == nil or (generation ~= nil and observed < generation) then
    local message = "waiting for the controller to observe generation " .. text(generation)
    if generation == nil then
      message = "waiting for the controller to write a status"
    elseif observed ~= nil then
      message = message .. " (the status describes generation " .. text(observed) .. ")"
    end
    return done("Progressing", message)
  end

  local ready_reason = reason("Ready")
  local report_drift = report and (is("Drifted", "True") or ready_reason == "Drifted")

  -- 4. AWS does not hold the spec and waiting will not change that.
  if is("Ready", "False") and ready_reason ~= "Pending" and not (report and ready_reason == "Drifted") then
    return done("Degraded", describe("Ready"))
  end

  -- 5. Logs do not arrive.
  if is("Delivering", "False") then
    return done("Degraded", describe("Delivering"))
  end

  -- 6. The fluentd side of the cutover cannot be written.
  local blocked = is("CutoverBlocked", "True")
  local blocked_reason = reason("CutoverBlocked")
  if blocked and (blocked_reason == "FluentdConflict" or blocked_reason == "FluentdFailed") then
    return done("Degraded", describe("CutoverBlocked"))
  end

  -- 7. Drift stands by policy.
  if report_drift then
    local count = number(status.driftCount)
    if count == nil then
      count = 0
    end
    local message = "drift reported, not corrected: " .. text(count) .. " items (spec.drift.policy: Report)"
    if conditions["Drifted"] ~= nil and text(conditions["Drifted"].message) ~= "" then
      message = message .. "; " .. text(conditions["Drifted"].message)
    end
    return done("Suspended", message)
  end

  -- 8. A cutover move held by a report-only fluentd key.
  if blocked and blocked_reason == "ReportOnly" then
    return done("Suspended", "cutover held: " .. describe("CutoverBlocked"))
  end

  -- 9. AWS is on its way to the spec, or not checked yet.
  if not is("Ready", "True") then
    return done("Progressing", describe("Ready"))
  end

  -- 10. A requested cutover move waits for its check.
  if blocked then
    return done("Progressing", "cutover move waits: " .. describe("CutoverBlocked"))
  end

  -- 11. Nothing verifies delivery.
  if verify_disabled then
    return done("Healthy", "AWS matches the spec; delivery verification is disabled (spec.delivery.verify.enabled: false)")
  end

  -- 12. Delivery not proven yet.
  if not is("Delivering", "True") then
    local why = reason("Delivering")
    if conditions["Delivering"] == nil or why == "" or why == "CanaryInFlight" then
      return done("Progressing", "waiting for the first canary: " .. describe("Delivering"))
    end
    return done("Progressing", "delivery not proven: " .. describe("Delivering"))
  end

  -- 13. AWS holds the spec and the last canary reached every stage.
  local message = "AWS matches the spec; " .. describe("Delivering")
  local delivery = table_or_empty(status.delivery)
  if type(delivery.lossSignals) == "table" and #delivery.lossSignals > 0 then
    message = message .. "; " .. text(#delivery.lossSignals) .. " loss signal(s) at the last check"
  end
  return done("Healthy", message)
end

return assess()

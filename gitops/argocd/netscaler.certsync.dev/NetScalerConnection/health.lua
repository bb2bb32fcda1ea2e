-- Argo CD health check for netscaler.certsync.dev resources (same script for both kinds).
-- It reads the kstatus conditions the operator writes: Stalled=True is Degraded, Ready=True is
-- Healthy, everything before that (no status yet, an older generation observed, Reconciling=True,
-- Ready=Unknown) is Progressing. Ready=False without Reconciling means the operator gave up on
-- this generation (for example an unknown vserver): Degraded, with the operator's message; a dry
-- run (Ready=False, reason DryRun: nothing wrong, nothing deployed) is Suspended.
-- Only Lua's base library is used: Argo CD does not open the string library by default.
local hs = {status = "Progressing", message = "Waiting for the operator to report status"}

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.message = "Being deleted: the operator is cleaning up the appliances"
  return hs
end
if obj.status == nil or obj.status.conditions == nil then
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local ready, reconciling, stalled = nil, nil, nil
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "Ready" then
    ready = condition
  elseif condition.type == "Reconciling" then
    reconciling = condition
  elseif condition.type == "Stalled" then
    stalled = condition
  end
end

local function describe(condition, fallback)
  if condition.message ~= nil and condition.message ~= "" then
    return condition.message
  end
  if condition.reason ~= nil and condition.reason ~= "" then
    return condition.reason
  end
  return fallback
end

if stalled ~= nil and stalled.status == "True" then
  return {status = "Degraded", message = describe(stalled, "Stalled")}
end
if ready ~= nil and ready.observedGeneration ~= nil and generation ~= nil and ready.observedGeneration < generation then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end
if ready ~= nil and ready.status == "True" then
  return {status = "Healthy", message = describe(ready, "Ready")}
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling, "Reconciling")
  return hs
end
if ready ~= nil and ready.status == "False" and ready.reason == "DryRun" then
  return {status = "Suspended", message = describe(ready, "Dry run")}
end
if ready ~= nil and ready.status == "False" then
  return {status = "Degraded", message = describe(ready, "Not ready")}
end
if ready ~= nil then
  hs.message = describe(ready, hs.message)
end
return hs

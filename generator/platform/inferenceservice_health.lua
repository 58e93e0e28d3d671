-- Argo CD health of a KServe InferenceService (serving.kserve.io/v1beta1), shipped by jukebox.
--
-- KServe (every OpenShift AI release, upstream >= 0.15.1) sets `Stopped: False` on every running
-- InferenceService. Argo CD's built-in check before argo-cd PR #25312 (3.0.21, 3.1.10, 3.2.1, 3.3.0;
-- never 2.x) counts that False condition as unhealthy, so a serving model never turns Healthy there.
-- This check reads the conditions the way KServe means them:
--   Stopped=True                                         -> Suspended
--   Ready=True                                           -> Healthy
--   a False condition (not Stopped) with a failure reason,
--   or modelStatus.transitionStatus BlockedByFailedLoad
--   or InvalidSpec, or a model state FailedToLoad         -> Degraded, with KServe's message
--   anything else (no status yet, rolling out, loading)  -> Progressing
-- Failure reasons: KServe's FailureReason values (pkg/apis/serving/v1beta1/inference_service_status.go,
-- kserve v0.20.0), the Deployment conditions RawDeployment copies (ProgressDeadlineExceeded,
-- FailedCreate) and Knative's revision failures (Serverless). A RawDeployment pod that never starts
-- (an image that cannot be pulled, no node to run it) keeps KServe's Available=False /
-- MinimumReplicasUnavailable, which hides ProgressDeadlineExceeded: that stays Progressing (KServe
-- v0.20.0 PropagateRawStatus), and a wait for Healthy ends at its timeout with the pod events.

local failure_reasons = {
  ModelLoadFailed = true,
  RuntimeUnhealthy = true,
  RuntimeDisabled = true,
  NoSupportingRuntime = true,
  RuntimeNotRecognized = true,
  InvalidPredictorSpec = true,
  InvalidWorkerSpecNotSet = true,
  InvalidGPUAllocation = true,
  ProgressDeadlineExceeded = true,
  FailedCreate = true,
  RevisionFailed = true,
  RevisionMissing = true,
}

local function describe(condition)
  local text = condition.type .. " is " .. condition.status
  if condition.reason ~= nil and condition.reason ~= "" then
    text = text .. " (" .. condition.reason .. ")"
  end
  if condition.message ~= nil and condition.message ~= "" then
    text = text .. ": " .. condition.message
  end
  return text
end

local function failed_load(model_status)
  if model_status == nil then
    return nil
  end
  local transition = model_status.transitionStatus
  local states = model_status.states or {}
  local failed_state = states.targetModelState == "FailedToLoad" or states.activeModelState == "FailedToLoad"
  if transition ~= "BlockedByFailedLoad" and transition ~= "InvalidSpec" and not failed_state then
    return nil
  end
  local text = "model " .. (failed_state and "FailedToLoad" or transition)
  local failure = model_status.lastFailureInfo
  if failure ~= nil then
    if failure.reason ~= nil and failure.reason ~= "" then
      text = text .. " (" .. failure.reason .. ")"
    end
    if failure.message ~= nil and failure.message ~= "" then
      text = text .. ": " .. failure.message
    end
  end
  return text
end

local function health(isvc)
  local status = isvc.status
  if status == nil or status.conditions == nil or #status.conditions == 0 then
    return { status = "Progressing", message = "Waiting for the InferenceService to report its status" }
  end
  local ready = nil
  local failure = nil
  local pending = {}
  for _, condition in ipairs(status.conditions) do
    if condition.type == "Stopped" then
      if condition.status == "True" then
        return { status = "Suspended", message = "InferenceService is stopped" }
      end
    elseif condition.type == "Ready" and condition.status == "True" then
      ready = condition
    elseif condition.status ~= "True" then
      if failure == nil and condition.status == "False" and failure_reasons[condition.reason] then
        failure = describe(condition)
      end
      table.insert(pending, describe(condition))
    end
  end
  if ready ~= nil then
    return { status = "Healthy", message = "InferenceService is ready" }
  end
  failure = failure or failed_load(status.modelStatus)
  if failure ~= nil then
    return { status = "Degraded", message = failure }
  end
  if #pending == 0 then
    return { status = "Progressing", message = "Waiting for the InferenceService to become ready" }
  end
  return { status = "Progressing", message = table.concat(pending, "; ") }
end

return health(obj)

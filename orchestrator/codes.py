"""Every error code a user can see, once.

A code is the name a job records when it fails, the ``[CODE]`` a command prints, and
what the workflow's Retry and Catch clauses match on (as Step Functions' ErrorEquals).
Everything that raises or matches a code takes it from ``Code``; ``docs/errors.md`` is
the table users read, and a test keeps the two the same. ``Code`` is a ``StrEnum``, so a
member is the string it names: records and JSON carry plain strings.

``MEANING`` says in one line what happened; the hint that says what to do travels with
each error, where the context is known.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    # ---- the upload: the zip, the manifest, the names ----
    BadEvent = "BadEvent"
    BadName = "BadName"
    UnexpectedBucket = "UnexpectedBucket"
    ObjectMissing = "ObjectMissing"
    TeamInvalid = "TeamInvalid"
    FunctionNameTooLong = "FunctionNameTooLong"
    ForbiddenFunctionName = "ForbiddenFunctionName"
    ZipInvalid = "ZipInvalid"
    ZipTooLarge = "ZipTooLarge"
    ZipBomb = "ZipBomb"
    ManifestInvalid = "ManifestInvalid"
    UnsupportedRuntime = "UnsupportedRuntime"
    UnsupportedArchitecture = "UnsupportedArchitecture"
    ArnInvalid = "ArnInvalid"
    PolicyDocumentInvalid = "PolicyDocumentInvalid"
    PolicyViolation = "PolicyViolation"
    ScheduleExpressionInvalid = "ScheduleExpressionInvalid"
    ZipNotAZip = "ZipNotAZip"
    ZipEmpty = "ZipEmpty"
    ZipCorrupt = "ZipCorrupt"
    ZipEncrypted = "ZipEncrypted"
    ZipLinkEntry = "ZipLinkEntry"
    ZipBadFileName = "ZipBadFileName"
    ZipAbsolutePath = "ZipAbsolutePath"
    ZipUnsafePath = "ZipUnsafePath"
    ZipTooManyEntries = "ZipTooManyEntries"
    HandlerTooLarge = "HandlerTooLarge"
    HandlerTooComplex = "HandlerTooComplex"
    SecretReferenceInvalid = "SecretReferenceInvalid"
    LimitExceeded = "LimitExceeded"
    VpcProfileUnknown = "VpcProfileUnknown"
    LayerNotAllowed = "LayerNotAllowed"
    TriggerNotAllowed = "TriggerNotAllowed"
    PublicUrlNotAllowed = "PublicUrlNotAllowed"
    ForbiddenQueue = "ForbiddenQueue"
    ForbiddenSecret = "ForbiddenSecret"
    PermissionsOutsideBoundary = "PermissionsOutsideBoundary"
    # ---- the build ----
    BuildFailed = "BuildFailed"
    BuildTimeout = "BuildTimeout"
    BuildCacheCorrupt = "BuildCacheCorrupt"
    RequirementsInvalid = "RequirementsInvalid"
    LockInvalid = "LockInvalid"
    LockUnsupported = "LockUnsupported"
    DependencySourcesConflict = "DependencySourcesConflict"
    DependencyConflict = "DependencyConflict"
    DependencyInstallFailed = "DependencyInstallFailed"
    PackageNotFound = "PackageNotFound"
    NoCompatibleWheel = "NoCompatibleWheel"
    HashesRequired = "HashesRequired"
    HashMismatch = "HashMismatch"
    DownloadFailed = "DownloadFailed"
    WheelInvalid = "WheelInvalid"
    ResolutionInvalid = "ResolutionInvalid"
    IndexHostRefused = "IndexHostRefused"
    InstallerMissing = "InstallerMissing"
    JailOutputInvalid = "JailOutputInvalid"
    AbiMismatch = "AbiMismatch"
    GlibcTooNew = "GlibcTooNew"
    MissingDependency = "MissingDependency"
    ImportErrorAtInit = "ImportErrorAtInit"
    PackageTooLarge = "PackageTooLarge"
    PackageTooLargeForLambda = "PackageTooLargeForLambda"
    ChaliceMissing = "ChaliceMissing"
    ChaliceDependencyFailed = "ChaliceDependencyFailed"
    ChalicePackageFailed = "ChalicePackageFailed"
    ChaliceOutputTooLarge = "ChaliceOutputTooLarge"
    ChaliceRuntimeMismatch = "ChaliceRuntimeMismatch"
    ChaliceMemoryExceeded = "ChaliceMemoryExceeded"
    ChaliceProcessLimit = "ChaliceProcessLimit"
    SandboxUnavailable = "SandboxUnavailable"
    # ---- deploy and verify ----
    DeployFailed = "DeployFailed"
    RoleNotFound = "RoleNotFound"
    TriggerFailed = "TriggerFailed"
    SchedulerRoleNotFound = "SchedulerRoleNotFound"
    InterpreterMissing = "InterpreterMissing"
    VerifyFailed = "VerifyFailed"
    VerifyMismatch = "VerifyMismatch"
    VerifyBadOutput = "VerifyBadOutput"
    HandlerNotFound = "HandlerNotFound"
    HandlerSyntaxError = "HandlerSyntaxError"
    HandlerAsync = "HandlerAsync"
    HandlerRaised = "HandlerRaised"
    HandlerTimeout = "HandlerTimeout"
    HandlerMemoryExceeded = "HandlerMemoryExceeded"
    HandlerProcessLimit = "HandlerProcessLimit"
    HandlerOutputTooLarge = "HandlerOutputTooLarge"
    RoleNotOwned = "RoleNotOwned"
    TeamBoundaryMissing = "TeamBoundaryMissing"
    SecretMissing = "SecretMissing"
    # ---- AWS answers (orchestrator.aws.errors maps every failure to one of these) ----
    AwsThrottled = "AwsThrottled"
    AwsServerError = "AwsServerError"
    NetworkError = "NetworkError"
    LambdaUpdateInProgress = "LambdaUpdateInProgress"
    AwsConflict = "AwsConflict"
    AwsNotFound = "AwsNotFound"
    AwsAccessDenied = "AwsAccessDenied"
    AwsValidation = "AwsValidation"
    NoCredentials = "NoCredentials"
    AwsUnavailable = "AwsUnavailable"
    Transient = "Transient"
    # ---- the worker and the job record ----
    WorkerOutOfMemory = "WorkerOutOfMemory"
    WorkerDiskFull = "WorkerDiskFull"
    WorkerPermissionDenied = "WorkerPermissionDenied"
    InternalError = "InternalError"
    LeaseLost = "LeaseLost"
    JobNotFound = "JobNotFound"
    JobRecordTooLarge = "JobRecordTooLarge"
    HistoryIncomplete = "HistoryIncomplete"
    HistoryNotLoaded = "HistoryNotLoaded"
    StepInputMissing = "StepInputMissing"
    WorkflowChanged = "WorkflowChanged"
    WorkerCrashed = "WorkerCrashed"
    BuildLogMissing = "BuildLogMissing"
    # ---- rollouts ----
    RolloutInvalid = "RolloutInvalid"
    RolloutPresetUnknown = "RolloutPresetUnknown"
    AlarmOutsideTeam = "AlarmOutsideTeam"
    AlarmNotFound = "AlarmNotFound"
    AlarmTriggered = "AlarmTriggered"
    HookFailed = "HookFailed"
    RolloutStopped = "RolloutStopped"
    RolloutInProgress = "RolloutInProgress"
    RolloutSuperseded = "RolloutSuperseded"
    RolloutNotActive = "RolloutNotActive"
    RolloutBusy = "RolloutBusy"
    # ---- the states library (Step Functions' names where it has them) ----
    StatesError = "StatesError"
    DefinitionInvalid = "DefinitionInvalid"
    ExecutionInvalidOperation = "ExecutionInvalidOperation"
    HistoryLimitExceeded = "HistoryLimitExceeded"
    StatesTimeout = "States.Timeout"
    StatesTaskFailed = "States.TaskFailed"
    StatesHistoryLimitExceeded = "States.HistoryLimitExceeded"
    StatesRuntime = "States.Runtime"
    StatesNoChoiceMatched = "States.NoChoiceMatched"
    # ---- results, events and webhooks ----
    WebhookConfigInvalid = "WebhookConfigInvalid"
    WebhookSecretMissing = "WebhookSecretMissing"
    ResultUnreadable = "ResultUnreadable"
    EventsLogMissing = "EventsLogMissing"
    # ---- an app's life: deletion and rollback ----
    NotOwned = "NotOwned"
    AppUploadedAgain = "AppUploadedAgain"
    RollbackRefused = "RollbackRefused"
    RollbackTargetInvalid = "RollbackTargetInvalid"
    FunctionNotFound = "FunctionNotFound"
    NoRollbackTarget = "NoRollbackTarget"
    VersionNotFound = "VersionNotFound"
    VersionNotVerified = "VersionNotVerified"
    UnknownWorkflow = "UnknownWorkflow"
    # ---- settings, commands and tools ----
    ConfigInvalid = "ConfigInvalid"
    DurationInvalid = "DurationInvalid"
    ExtraMissing = "ExtraMissing"
    HooksInvalid = "HooksInvalid"
    TracingConfigInvalid = "TracingConfigInvalid"
    ListQueryInvalid = "ListQueryInvalid"
    UiBadInput = "UiBadInput"
    UiNotFound = "UiNotFound"
    UiMethodRefused = "UiMethodRefused"
    UiInternalError = "UiInternalError"
    UiActionRefused = "UiActionRefused"
    UiCrossSite = "UiCrossSite"
    UiHostRefused = "UiHostRefused"
    UiTokenRequired = "UiTokenRequired"
    UiPortUnavailable = "UiPortUnavailable"
    UiTokenWeak = "UiTokenWeak"
    CheckerConfigInvalid = "CheckerConfigInvalid"
    SimWorkloadInvalid = "SimWorkloadInvalid"
    FaultSpecInvalid = "FaultSpecInvalid"
    ExamplesNotFound = "ExamplesNotFound"
    UiTeamTokensInvalid = "UiTeamTokensInvalid"
    UiTeamRefused = "UiTeamRefused"


MEANING: dict[Code, str] = {
    Code.BadEvent: "a queue message is not an S3 event auto-lambda can handle",
    Code.BadName: "the uploaded object's name does not end in .zip",
    Code.UnexpectedBucket: "an event names a bucket this stack does not watch",
    Code.ObjectMissing: "the uploaded object (that version) is gone from the bucket",
    Code.TeamInvalid: "the key's team folder is not a valid team name",
    Code.FunctionNameTooLong: "team, app and prefix make a function name over Lambda's 64",
    Code.ForbiddenFunctionName: "the app's name is reserved or not allowed",
    Code.ZipInvalid: "the upload is not a zip auto-lambda can read safely",
    Code.ZipTooLarge: "the zip, or what it unpacks to, is over the limits",
    Code.ZipBomb: "the zip's entries unpack far beyond their compressed size",
    Code.ManifestInvalid: "auto-lambda.toml (or its absence) does not describe a function",
    Code.UnsupportedRuntime: "the manifest names a runtime auto-lambda does not build",
    Code.UnsupportedArchitecture: "the manifest names an architecture other than x86_64/arm64",
    Code.ArnInvalid: "a manifest value that must be an ARN is not one",
    Code.PolicyDocumentInvalid: "the app's IAM policy file is not a valid policy",
    Code.PolicyViolation: "the manifest asks for more than the team's policy allows",
    Code.ScheduleExpressionInvalid: "a schedule trigger's rate(...)/cron(...) is invalid",
    Code.ZipNotAZip: "the upload is not a zip archive",
    Code.ZipEmpty: "the zip has no files",
    Code.ZipCorrupt: "the zip's structure or an entry's data is damaged",
    Code.ZipEncrypted: "the zip has encrypted entries",
    Code.ZipLinkEntry: "the zip has a symbolic link or other special entry",
    Code.ZipBadFileName: "an entry's name is not a plain, portable file name",
    Code.ZipAbsolutePath: "an entry's path is absolute",
    Code.ZipUnsafePath: "an entry's path leaves the app's folder",
    Code.ZipTooManyEntries: "the zip has more entries than allowed",
    Code.HandlerTooLarge: "the handler's module is too large to check",
    Code.HandlerTooComplex: "the handler's module is too deeply nested to check",
    Code.SecretReferenceInvalid: "a [secrets] value is not ssm:/path or secretsmanager:name",
    Code.LimitExceeded: "a function setting is over the team's limit",
    Code.VpcProfileUnknown: "the manifest names a VPC profile the operator did not define",
    Code.LayerNotAllowed: "a layer is not on the team's allow-list",
    Code.TriggerNotAllowed: "the team may not use that kind of trigger",
    Code.PublicUrlNotAllowed: "a public (auth none) URL where the team's policy forbids it",
    Code.ForbiddenQueue: "a queue trigger names a queue outside the team's",
    Code.ForbiddenSecret: "a secret reference outside the team's own secrets",
    Code.PermissionsOutsideBoundary: "the app's policy asks for more than its team's boundary",
    Code.LockUnsupported: "a lock pins a source auto-lambda does not install (path, VCS)",
    Code.BuildFailed: "packaging the function failed",
    Code.BuildTimeout: "the build ran past its time limit",
    Code.BuildCacheCorrupt: "a build cache entry failed its check (it is dropped)",
    Code.RequirementsInvalid: "a requirement is not a name, extras and a version specifier",
    Code.LockInvalid: "a lock file has the wrong shape or a field that is not data",
    Code.DependencySourcesConflict: "the zip declares its requirements in disagreeing files",
    Code.DependencyConflict: "the requirements cannot all be satisfied together",
    Code.DependencyInstallFailed: "the installer failed for a reason it printed",
    Code.PackageNotFound: "a requirement is not on the configured index",
    Code.NoCompatibleWheel: "no wheel of a requirement fits the function's platform",
    Code.HashesRequired: "a lock pins some requirements by hash but not all",
    Code.HashMismatch: "a downloaded file does not have the locked hash",
    Code.DownloadFailed: "a wheel could not be downloaded from the index",
    Code.WheelInvalid: "a wheel is not a valid zip of a wheel",
    Code.ResolutionInvalid: "the installer's resolution is not what was asked for",
    Code.IndexHostRefused: "the build tried to reach a host that is not a configured index",
    Code.InstallerMissing: "uv is missing on the worker, or the jail cannot run it",
    Code.JailOutputInvalid: "a file the jail wrote is not where or what it must be",
    Code.AbiMismatch: "a native library is built for another platform",
    Code.GlibcTooNew: "a native library needs a newer glibc than the Lambda runtime's",
    Code.MissingDependency: "the handler imports a package the build did not install",
    Code.ImportErrorAtInit: "importing the handler failed",
    Code.PackageTooLarge: "the package is over auto-lambda's size limit",
    Code.PackageTooLargeForLambda: "the unzipped package is over Lambda's 250 MB",
    Code.ChaliceMissing: "a Chalice app was uploaded but chalice is not on the worker",
    Code.ChaliceDependencyFailed: "chalice could not install the app's requirements",
    Code.ChalicePackageFailed: "chalice package failed",
    Code.ChaliceOutputTooLarge: "chalice's package output is over the limits",
    Code.ChaliceRuntimeMismatch: "the Chalice config names another Python than the manifest",
    Code.ChaliceMemoryExceeded: "importing app.py during chalice package ran out of memory",
    Code.ChaliceProcessLimit: "importing app.py during chalice package started too many processes",
    Code.SandboxUnavailable: "the jail untrusted code runs in cannot be set up here",
    Code.DeployFailed: "Lambda refused the function's code or configuration",
    Code.RoleNotFound: "the function's execution role does not exist",
    Code.TriggerFailed: "a trigger could not be attached to the live alias",
    Code.SchedulerRoleNotFound: "a schedule trigger, and no role for EventBridge Scheduler to "
                                "invoke the function as",
    Code.InterpreterMissing: "no local interpreter of the function's runtime (the local "
                             "URL stand-in)",
    Code.VerifyFailed: "the smoke test failed",
    Code.VerifyMismatch: "the handler's answer is not the expected one",
    Code.VerifyBadOutput: "the handler's answer cannot be read",
    Code.HandlerNotFound: "the handler module or function does not exist",
    Code.HandlerSyntaxError: "the handler's module does not compile",
    Code.HandlerAsync: "the handler is a coroutine function (Lambda calls it synchronously)",
    Code.HandlerRaised: "the handler raised an exception",
    Code.HandlerTimeout: "the handler ran past the function's timeout",
    Code.HandlerMemoryExceeded: "the handler used more than the function's memory",
    Code.HandlerProcessLimit: "the handler started more processes than allowed",
    Code.HandlerOutputTooLarge: "the handler's answer or output is over the limits",
    Code.AwsThrottled: "AWS throttled a call (retried)",
    Code.AwsServerError: "AWS answered 5xx (retried)",
    Code.NetworkError: "a call to AWS did not get an answer (retried)",
    Code.LambdaUpdateInProgress: "the function is busy with another update (retried)",
    Code.AwsConflict: "a write conflicts with the resource's state",
    Code.AwsNotFound: "an AWS resource does not exist",
    Code.AwsAccessDenied: "the worker's role may not make a call",
    Code.AwsValidation: "AWS refused a call's parameters",
    Code.NoCredentials: "no AWS credentials were found",
    Code.AwsUnavailable: "an AWS service kept failing past the outage deadline",
    Code.Transient: "a failure that may pass on its own (retried)",
    Code.WorkerOutOfMemory: "the worker ran out of memory during a step",
    Code.WorkerDiskFull: "the worker's disk is full",
    Code.WorkerPermissionDenied: "the worker's user cannot use a file or folder it needs",
    Code.InternalError: "a bug in auto-lambda (the job can be replayed)",
    Code.LeaseLost: "another worker took the job over",
    Code.JobNotFound: "no job has that id",
    Code.JobRecordTooLarge: "a job record would be over DynamoDB's item size",
    Code.HistoryIncomplete: "a job's history table items are missing",
    Code.HistoryNotLoaded: "a job record was read without its history",
    Code.StepInputMissing: "a step's input from an earlier step is missing",
    Code.WorkflowChanged: "the job was started under another workflow declaration",
    Code.RolloutInvalid: "a [deploy] value does not describe a rollout",
    Code.RolloutPresetUnknown: "[deploy].preset is not a CodeDeploy name of the strategy",
    Code.AlarmOutsideTeam: "a [deploy] alarm is not named <prefix>-<team>-",
    Code.AlarmNotFound: "a [deploy] alarm does not exist (nothing moved)",
    Code.AlarmTriggered: "an alarm gating the rollout was in ALARM: live went back",
    Code.HookFailed: "a pre- or post-traffic hook failed: live stayed or went back",
    Code.RolloutStopped: "an operator stopped the rollout: live went back",
    Code.RolloutInProgress: "another rollout of the function is under way",
    Code.RolloutSuperseded: "a newer deployment moved live during the rollout",
    Code.RolloutNotActive: "a rollout stop or promote named a job not rolling out",
    Code.RolloutBusy: "a rollout stop or promote found the job held too long",
    Code.StatesError: "the states library refused an operation",
    Code.DefinitionInvalid: "a workflow definition is invalid",
    Code.ExecutionInvalidOperation: "an operation is not allowed in the execution's status",
    Code.HistoryLimitExceeded: "the execution reached its history limit",
    Code.StatesTimeout: "a task ran past its timeout or heartbeat (retried)",
    Code.StatesTaskFailed: "a task failed with an error that has no name",
    Code.StatesHistoryLimitExceeded: "the execution was failed at its history limit",
    Code.StatesRuntime: "a path in the definition selects nothing usable",
    Code.WebhookConfigInvalid: "the operator's webhooks file cannot be used",
    Code.WebhookSecretMissing: "a webhook's secret reference names nothing this process can read",
    Code.ResultUnreadable: "a result object is there but is not an auto-lambda result",
    Code.EventsLogMissing: "the log group events are copied to does not exist (no bus set up yet)",
    Code.NotOwned: "the function (or role) is not auto-lambda's for that team",
    Code.AppUploadedAgain: "the zip was uploaded again during the deletion's grace period (kept)",
    Code.RollbackRefused: "a rollback cannot be made as asked",
    Code.RollbackTargetInvalid: "a rollback target is not <team>/<app>",
    Code.FunctionNotFound: "the app has no function to act on",
    Code.NoRollbackTarget: "no earlier verified version to roll back to",
    Code.VersionNotFound: "the version asked for is not published",
    Code.VersionNotVerified: "the version never verified (use --force to roll back to it anyway)",
    Code.UnknownWorkflow: "a job record names a workflow this release does not know",
    Code.RoleNotOwned: "the function's role exists but auto-lambda did not make it for the team",
    Code.TeamBoundaryMissing: "the team has no permission boundary in this account",
    Code.SecretMissing: "a [secrets] reference names nothing where the function runs",
    Code.WorkerCrashed: "workers kept dying while running this job's step (5 in a row)",
    Code.UiTeamTokensInvalid: "the console's file of team tokens cannot be used",
    Code.UiTeamRefused: "a team's console token asked for another team's or the operator's view",
    Code.BuildLogMissing: "a job has no build log yet (no step of it has ended)",
    Code.StatesNoChoiceMatched: "no rule of a Choice state matched and it has no Default",
    Code.ConfigInvalid: "an AUTO_LAMBDA_* setting or an option holds an unusable value",
    Code.DurationInvalid: "a duration is not like 90s, 15m, 6h",
    Code.ExtraMissing: "the command needs an extra this install does not have",
    Code.HooksInvalid: "AUTO_LAMBDA_HOOKS does not name a hooks class",
    Code.TracingConfigInvalid: "AUTO_LAMBDA_TRACING names no tracing backend",
    Code.ListQueryInvalid: "a jobs query's filters cannot be used",
    Code.UiNotFound: "the console has no such page or file",
    Code.UiMethodRefused: "the console does not take that HTTP method there",
    Code.UiInternalError: "the console failed on a request (its log says why)",
    Code.UiActionRefused: "the console refused an action (not allowed for that job or token)",
    Code.UiCrossSite: "a console action came from another site (CSRF check)",
    Code.UiHostRefused: "the console was reached under a host name it does not serve",
    Code.UiTokenRequired: "the console needs its token",
    Code.UiBadInput: "the console received a request it cannot use",
    Code.UiPortUnavailable: "the console's port is taken",
    Code.UiTokenWeak: "the console's token is too short to be safe",
    Code.CheckerConfigInvalid: "a checker or simulator option is malformed",
    Code.SimWorkloadInvalid: "a simulator workload file cannot be used",
    Code.FaultSpecInvalid: "a fault plan cannot be parsed",
    Code.ExamplesNotFound: "the example apps are not where the demo looks",
}


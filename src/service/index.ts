// Running the server as a service: systemd units (Linux) and launchd jobs (macOS).
export { ServiceManager, execCommand, type CommandResult, type CommandRunner, type ServiceHost, type InstallResult, type UninstallResult, type ServiceStatus } from './manager.js'
export { SERVICE_ENV, serviceSpec, argvOption, type ServiceSpec, type ServiceSpecInput, type ServicePlatform, type ServiceScope } from './spec.js'
export { SYSTEMD_UNIT_NAME, systemdUnit, systemdUnitPath, systemdExecLine, systemdExecWord, parseSystemdExecLine, systemdUnitArgv } from './systemd.js'
export { LAUNCHD_LABEL, launchdPlist, launchdPlistPath, launchdLogPath, launchdPlistArgv, launchdPlistUser } from './launchd.js'
export { ServiceUnsupportedPlatformError, ServiceNeedsRootError, ServiceToolMissingError, ServiceCommandFailedError, ServiceUsageError } from './errors.js'

// The Function App on the Flex Consumption plan (FC1, Linux, Python), running as the user-assigned identity.
// App settings are split in two, and tests/infra/test_settings.py compares both lists with the rest of the repo:
//   hostSettings  what the Functions host and platform read (storage, telemetry, HTTP streams)
//   coreSettings  what core/config.py reads; every entry of core.config.SETTINGS that applies in Azure
// Secrets (API_KEYS, OPENAI_API_KEY, REDIS_URL) are Key Vault references resolved with the same identity.
// Flex Consumption rejects or ignores FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE
// and friends: runtime and deployment live in functionAppConfig instead.

param name string
param planName string
param location string
param tags object = {}

@description('azd service name; azd deploys to the resource tagged with it.')
param serviceName string = 'api'

@description('Resource id of the user-assigned managed identity.')
param identityId string
param identityClientId string

param storageAccountName string
param storageBlobEndpoint string
param deploymentContainerName string

param applicationInsightsConnectionString string

@allowed([
  '3.11'
  '3.12'
])
param pythonVersion string = '3.12'  // 3.11's asyncio can lose a cancellation inside redis-py calls (see README)

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(40)  // the Flex Consumption platform's minimum for the scale-out limit
@maxValue(1000)
param maximumInstanceCount int = 40

// An SSE stream holds an HTTP invocation slot for its whole life (seconds to minutes) while using almost no CPU: the
// instance's one async worker carries hundreds of them. The platform default (16 at 2048 MB) would scale out, and
// queue streams, long before an instance is busy.
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 200

@allowed([
  'cosmos'
  'redis'
])
param databaseProvider string = 'cosmos'
param cosmosEndpoint string = ''
param cosmosDatabaseName string = 'assistants'
param redisUrlSecretUri string = ''

@allowed([
  'azureopenai'
  'openai'
])
param modelProvider string = 'azureopenai'
param azureOpenAiEndpoint string = ''
param openAiApiKeySecretUri string = ''
param openAiBaseUrl string = ''

param apiKeysSecretUri string

@allowed([
  'DEBUG'
  'INFO'
  'WARNING'
  'ERROR'
])
param logLevel string = 'INFO'
param upstreamTimeoutSeconds int = 600
param upstreamMaxRetries int = 2
param upstreamIdleTimeoutSeconds int = 120
param upstreamOmitFields string = ''
param maxRequestBytes int = 16777216
param maxUploadBytes int = 536870912
param runLeaseSeconds int = 30
param runMaxAttempts int = 3
param redisMaxConnections int = 64

@description('Entra ID app registration of this API: its application (client) id. Empty: Entra ID tokens are not accepted (API keys only).')
param entraClientId string = ''
@description('Directory (tenant) id whose tokens are accepted (default: the deployment\'s tenant).')
param entraTenantId string = tenant().tenantId
@description('App ID URI of the app registration (default api://<entraClientId>); accepted as audience beside the client id.')
param entraAppIdUri string = ''
@description('Comma-separated app roles of which a token must carry one (empty: any token of the tenant for this audience).')
param entraRequiredRoles string = ''

var hostSettings = {
  // Identity-based host storage: no connection string, no key.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Telemetry with Entra auth (local auth is disabled on the Application Insights resource), exported as OpenTelemetry
  // by the host (host.json telemetryMode) and by the app's run traces and metrics (core/adapters/telemetry).
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // Required by HTTP streams (azurefunctions-extensions-http-fastapi) on Python 3.11/3.12.
  PYTHON_ENABLE_INIT_INDEXING: '1'
  // The host refuses bodies over 100 MB before the app sees them; uploads stream through, so lift it to the app's
  // own limit plus room for the multipart framing.
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: string(maxUploadBytes + 1048576)
}

var commonSettings = {
  DATABASE_PROVIDER: databaseProvider
  AZURE_CLIENT_ID: identityClientId
  API_KEYS: '@Microsoft.KeyVault(SecretUri=${apiKeysSecretUri})'
  UPSTREAM_TIMEOUT_SECONDS: string(upstreamTimeoutSeconds)
  UPSTREAM_MAX_RETRIES: string(upstreamMaxRetries)
  UPSTREAM_IDLE_TIMEOUT_SECONDS: string(upstreamIdleTimeoutSeconds)
  UPSTREAM_OMIT_FIELDS: upstreamOmitFields
  MAX_REQUEST_BYTES: string(maxRequestBytes)
  MAX_UPLOAD_BYTES: string(maxUploadBytes)
  RUN_LEASE_SECONDS: string(runLeaseSeconds)
  RUN_MAX_ATTEMPTS: string(runMaxAttempts)
  REDIS_MAX_CONNECTIONS: string(redisMaxConnections)
  LOG_LEVEL: logLevel
  RUN_QUEUE: 'storage'  // background runs go to the run-jobs queue, executed by the queue-triggered runs_execute
}

var databaseSettings = databaseProvider == 'cosmos' ? {
  COSMOS_ENDPOINT: cosmosEndpoint
  COSMOS_DATABASE_ID: cosmosDatabaseName
} : {
  REDIS_URL: '@Microsoft.KeyVault(SecretUri=${redisUrlSecretUri})'
}

var modelSettings = modelProvider == 'azureopenai' ? {
  AZURE_OPENAI_ENDPOINT: azureOpenAiEndpoint
} : {
  OPENAI_API_KEY: '@Microsoft.KeyVault(SecretUri=${openAiApiKeySecretUri})'
}

// Only when given: an empty OPENAI_BASE_URL would override the openai SDK's default.
var baseUrlSettings = !empty(openAiBaseUrl) ? {
  OPENAI_BASE_URL: openAiBaseUrl
} : {}

// Entra ID bearer tokens beside API keys; empty values leave them off. ENTRA_ISSUER and ENTRA_JWKS_URL stay empty: the
// app derives both from the tenant id (public Azure cloud).
var entraSettings = {
  ENTRA_TENANT_ID: empty(entraClientId) ? '' : entraTenantId
  ENTRA_AUDIENCE: empty(entraClientId) ? '' : '${entraClientId},${empty(entraAppIdUri) ? 'api://${entraClientId}' : entraAppIdUri}'
  ENTRA_ISSUER: ''
  ENTRA_JWKS_URL: ''
  ENTRA_REQUIRED_ROLES: entraRequiredRoles
}

var coreSettings = union(commonSettings, databaseSettings, modelSettings, baseUrlSettings, entraSettings)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225: Zone redundancy is not offered in every Flex Consumption region and needs always-ready instances (idle cost).
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_18: siteConfig is kept to properties Flex Consumption accepts; SSE works over HTTP/1.1.
  //checkov:skip=CKV_AZURE_67: Same as CKV_AZURE_18.
  //checkov:skip=CKV_AZURE_78: Flex Consumption has no FTP endpoint, and it rejects siteConfig.ftpsState.
  //checkov:skip=CKV_AZURE_222: This is a public API; clients authenticate with their API key (API_KEYS), checked by the app.
  //checkov:skip=CKV_AZURE_17: Clients authenticate with bearer API keys, not client certificates.
  //checkov:skip=CKV_AZURE_212: Flex Consumption scales to zero by design; always-ready instances would cost money at idle.
  //checkov:skip=CKV_AZURE_213: App Service health-check pings would keep an instance warm (idle cost); GET /v1/health serves external probes.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  //checkov:skip=CKV_AZURE_13: False positive for an appsettings resource; EasyAuth is not used: the app checks API keys itself.
  //checkov:skip=CKV_AZURE_63: False positive: this resource only holds app settings; logs go to Application Insights.
  //checkov:skip=CKV_AZURE_65: False positive: this resource only holds app settings.
  //checkov:skip=CKV_AZURE_66: False positive: this resource only holds app settings.
  //checkov:skip=CKV_AZURE_80: False positive: a Python app has no .NET Framework version.
  //checkov:skip=CKV_AZURE_88: False positive: Flex Consumption deploys from a blob container, not Azure Files.
  //checkov:skip=CKV_AZURE_222: False positive for an appsettings resource; see the site resource.
  parent: site
  name: 'appsettings'
  properties: union(hostSettings, coreSettings)
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output url string = 'https://${site.properties.defaultHostName}'

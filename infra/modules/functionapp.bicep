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
param pythonVersion string = '3.11'

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

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

var hostSettings = {
  // Identity-based host storage: no connection string, no key.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Telemetry with Entra auth (local auth is disabled on the Application Insights resource).
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // Required by HTTP streams (azurefunctions-extensions-http-fastapi) on Python 3.11/3.12.
  PYTHON_ENABLE_INIT_INDEXING: '1'
}

var coreSettings = union(
  {
    DATABASE_PROVIDER: databaseProvider
    AZURE_CLIENT_ID: identityClientId
    API_KEYS: '@Microsoft.KeyVault(SecretUri=${apiKeysSecretUri})'
    UPSTREAM_TIMEOUT_SECONDS: string(upstreamTimeoutSeconds)
    UPSTREAM_MAX_RETRIES: string(upstreamMaxRetries)
    LOG_LEVEL: logLevel
  },
  databaseProvider == 'cosmos'
    ? {
        COSMOS_ENDPOINT: cosmosEndpoint
        COSMOS_DATABASE_ID: cosmosDatabaseName
      }
    : {
        REDIS_URL: '@Microsoft.KeyVault(SecretUri=${redisUrlSecretUri})'
      },
  modelProvider == 'azureopenai'
    ? {
        AZURE_OPENAI_ENDPOINT: azureOpenAiEndpoint
      }
    : {
        OPENAI_API_KEY: '@Microsoft.KeyVault(SecretUri=${openAiApiKeySecretUri})'
      },
  // Set only when given: an empty OPENAI_BASE_URL would override the SDK's default.
  !empty(openAiBaseUrl)
    ? {
        OPENAI_BASE_URL: openAiBaseUrl
      }
    : {}
)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
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
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(hostSettings, coreSettings)
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output url string = 'https://${site.properties.defaultHostName}'

// Assistants-API-compatible service on Azure Functions (Flex Consumption), deployed with `azd up`.
// Subscription scope: creates the resource group, then everything in it through small modules. See docs/deploy.md.
targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------------------------
// Environment (azd fills these from main.parameters.json)

@minLength(1)
@maxLength(64)
@description('azd environment name; used for the resource group name and a unique suffix for all resources.')
param environmentName string

@minLength(1)
@description('Region for all resources. It must offer the Flex Consumption plan.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Optional: a developer\'s principal id that also gets Cosmos DB data and Azure OpenAI access, for running the app locally against Azure (azd env DEVELOPER_PRINCIPAL_ID).')
param principalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
@description('Kind of principalId: User for a developer (the default), ServicePrincipal for a CI identity.')
param principalType string = 'User'

// ---------------------------------------------------------------------------------------------------------------
// The app's own secrets

@secure()
@description('API_KEYS: comma-separated client keys, each \'key\' or \'tenant:key\', stored in Key Vault. Required on the first deployment; empty later keeps the stored value.')
param apiKeys string = ''

// ---------------------------------------------------------------------------------------------------------------
// Persistence

@allowed([
  'cosmos'
  'redis'
])
@description('cosmos: Azure Cosmos DB for NoSQL (serverless by default). redis: Azure Cache for Redis (has an idle cost).')
param databaseProvider string = 'cosmos'

@description('Cosmos DB serverless capacity mode (~0 cost at idle). false: provisioned autoscale throughput.')
param cosmosServerless bool = true

@description('Cosmos DB database name (COSMOS_DATABASE_ID).')
param cosmosDatabaseName string = 'assistants'

@allowed([
  'Basic'
  'Standard'
])
@description('Azure Cache for Redis tier, when databaseProvider is redis.')
param redisSkuName string = 'Basic'

// ---------------------------------------------------------------------------------------------------------------
// Model upstream (Responses API)

@allowed([
  'azureopenai'
  'openai'
])
@description('azureopenai: create an Azure OpenAI account and deployment (key-less). openai: use OpenAI with openAiApiKey.')
param modelProvider string = 'azureopenai'

@description('Region of the Azure OpenAI account (model availability differs by region). Empty: location.')
param openAiLocation string = ''

@description('Azure OpenAI model to deploy (one that serves the Responses API in the chosen region).')
param openAiModelName string = 'gpt-4.1-mini'

@description('Azure OpenAI model version.')
param openAiModelVersion string = '2025-04-14'

@description('Azure OpenAI deployment name; clients send it as `model`. Defaults to the model name.')
param openAiDeploymentName string = openAiModelName

@description('Azure OpenAI deployment SKU.')
param openAiDeploymentSku string = 'GlobalStandard'

@description('Azure OpenAI deployment capacity, in thousands of tokens per minute.')
param openAiDeploymentCapacity int = 30

@secure()
@description('OPENAI_API_KEY, when modelProvider is openai; stored in Key Vault. Empty later keeps the stored value.')
param openAiApiKey string = ''

@description('OPENAI_BASE_URL, when modelProvider is openai and the upstream is not api.openai.com. Empty: SDK default.')
param openAiBaseUrl string = ''

// ---------------------------------------------------------------------------------------------------------------
// Function App

@allowed([
  512
  2048
  4096
])
@description('Flex Consumption instance memory in MB.')
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
@description('Flex Consumption scale-out limit (also a cost guard); the platform accepts 40 to 1000.')
param maximumInstanceCount int = 40

@allowed([
  'DEBUG'
  'INFO'
  'WARNING'
  'ERROR'
])
param logLevel string = 'INFO'

@description('UPSTREAM_TIMEOUT_SECONDS: timeout of one Responses API call.')
param upstreamTimeoutSeconds int = 600

@description('UPSTREAM_MAX_RETRIES: retries on upstream 429/5xx/connection errors.')
param upstreamMaxRetries int = 2

@minValue(5)
@description('UPSTREAM_IDLE_TIMEOUT_SECONDS: a model stream silent this long fails its run.')
param upstreamIdleTimeoutSeconds int = 120

@minValue(1024)
@description('MAX_REQUEST_BYTES: largest request body accepted (413 beyond it).')
param maxRequestBytes int = 16777216

@minValue(1024)
@description('MAX_UPLOAD_BYTES: largest file upload accepted (413 beyond it); the host\'s body limit is raised to match.')
param maxUploadBytes int = 536870912

@description('UPSTREAM_OMIT_FIELDS: Responses request fields never sent upstream (comma-separated).')
param upstreamOmitFields string = ''

@minValue(5)
@description('RUN_LEASE_SECONDS: lease of the instance executing a run; a lapsed run is taken over.')
param runLeaseSeconds int = 30

@minValue(1)
@description('RUN_MAX_ATTEMPTS: executions of one turn (first plus take-overs) before the run fails.')
param runMaxAttempts int = 3

@minValue(1)
@description('REDIS_MAX_CONNECTIONS: Redis connection pool size per instance.')
param redisMaxConnections int = 64

// ---------------------------------------------------------------------------------------------------------------
// Entra ID callers (optional). One manual step first, by someone allowed to create app registrations:
//   az ad app create --display-name assistants-api --identifier-uris api://<name> --app-roles @roles.json
//   (roles.json: one role, e.g. value "Assistants.Use", allowedMemberTypes ["User","Application"]); then assign the
//   role to the callers (users, groups, or the managed identities / service principals of client apps).
// Clients request a token for scope '<App ID URI>/.default'.

@description('Application (client) id of the API\'s Entra ID app registration. Empty: API keys only.')
param entraClientId string = ''

@description('App ID URI of that app registration (default api://<entraClientId>).')
param entraAppIdUri string = ''

@description('Comma-separated app roles, one of which a caller\'s token must carry (empty: no role required).')
param entraRequiredRoles string = ''

// ---------------------------------------------------------------------------------------------------------------
// API Management

@description('Put API Management in front of the Function App.')
param enableApiManagement bool = true

@allowed([
  'Consumption'
  'Developer'
  'BasicV2'
  'StandardV2'
])
@description('API Management tier. The v2 tiers carry SSE streams; Consumption costs ~0 at idle but does not support long-running connections (stream from the Function App URL then, docs/deploy.md).')
param apiManagementSku string = 'BasicV2'

@description('Require an APIM subscription key (header Ocp-Apim-Subscription-Key) in addition to the app\'s own key.')
param apimSubscriptionRequired bool = false

@description('API Management publisher e-mail (required by APIM; receives service notifications).')
param apimPublisherEmail string = 'noreply@example.com'

@description('API Management publisher name.')
param apimPublisherName string = 'Assistants API'

@description('Key Vault purge protection (irreversible; keeps the vault name reserved after azd down).')
param keyVaultPurgeProtection bool = false

// ---------------------------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = 'func-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'
var effectiveOpenAiLocation = empty(openAiLocation) ? location : openAiLocation

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    runQueueName: 'run-jobs'
    identityPrincipalId: identity.outputs.principalId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
    apiKeys: apiKeys
    openAiApiKey: modelProvider == 'openai' ? openAiApiKey : ''
    purgeProtection: keyVaultPurgeProtection
  }
}

module cosmos 'modules/cosmos.bicep' = if (databaseProvider == 'cosmos') {
  name: 'cosmos'
  scope: rg
  params: {
    name: 'cosmos-${resourceToken}'
    location: location
    tags: tags
    serverless: cosmosServerless
    databaseName: cosmosDatabaseName
    identityPrincipalId: identity.outputs.principalId
    developerPrincipalId: principalId
  }
}

module redis 'modules/redis.bicep' = if (databaseProvider == 'redis') {
  name: 'redis'
  scope: rg
  params: {
    name: 'redis-${resourceToken}'
    location: location
    tags: tags
    skuName: redisSkuName
    keyVaultName: keyVault.outputs.name
  }
}

module openAi 'modules/openai.bicep' = if (modelProvider == 'azureopenai') {
  name: 'openai'
  scope: rg
  params: {
    name: 'oai-${resourceToken}'
    location: effectiveOpenAiLocation
    tags: tags
    deploymentName: openAiDeploymentName
    modelName: openAiModelName
    modelVersion: openAiModelVersion
    deploymentSku: openAiDeploymentSku
    deploymentCapacity: openAiDeploymentCapacity
    identityPrincipalId: identity.outputs.principalId
    developerPrincipalId: principalId
    developerPrincipalType: principalType
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    serviceName: 'api'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    databaseProvider: databaseProvider
    cosmosEndpoint: databaseProvider == 'cosmos' ? cosmos.outputs.endpoint : ''
    cosmosDatabaseName: cosmosDatabaseName
    redisUrlSecretUri: databaseProvider == 'redis' ? redis.outputs.redisUrlSecretUri : ''
    modelProvider: modelProvider
    azureOpenAiEndpoint: modelProvider == 'azureopenai' ? openAi.outputs.endpoint : ''
    openAiApiKeySecretUri: keyVault.outputs.openAiApiKeySecretUri
    openAiBaseUrl: openAiBaseUrl
    apiKeysSecretUri: keyVault.outputs.apiKeysSecretUri
    logLevel: logLevel
    upstreamTimeoutSeconds: upstreamTimeoutSeconds
    upstreamMaxRetries: upstreamMaxRetries
    upstreamIdleTimeoutSeconds: upstreamIdleTimeoutSeconds
    upstreamOmitFields: upstreamOmitFields
    maxRequestBytes: maxRequestBytes
    maxUploadBytes: maxUploadBytes
    runLeaseSeconds: runLeaseSeconds
    runMaxAttempts: runMaxAttempts
    redisMaxConnections: redisMaxConnections
    entraClientId: entraClientId
    entraAppIdUri: entraAppIdUri
    entraRequiredRoles: entraRequiredRoles
  }
}

module apim 'modules/apim.bicep' = if (enableApiManagement) {
  name: 'apim'
  scope: rg
  params: {
    name: 'apim-${resourceToken}'
    location: location
    tags: tags
    skuName: apiManagementSku
    publisherEmail: apimPublisherEmail
    publisherName: apimPublisherName
    backendUrl: functionApp.outputs.url
    subscriptionRequired: apimSubscriptionRequired
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Outputs (azd stores them in the environment; nothing secret)

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
// Not named AZURE_CLIENT_ID: that name would steer azure-identity in any shell that loads the azd environment.
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output FUNCTION_APP_URL string = '${functionApp.outputs.url}/v1'
output APIM_GATEWAY_URL string = enableApiManagement ? '${apim.outputs.gatewayUrl}/v1' : ''
// What clients should use as the openai SDK's base_url.
output API_BASE_URL string = enableApiManagement ? '${apim.outputs.gatewayUrl}/v1' : '${functionApp.outputs.url}/v1'
// What Azure OpenAI-style clients should use as azure_endpoint (they add /openai and an api-version themselves).
output AZURE_OPENAI_STYLE_ENDPOINT string = enableApiManagement ? apim.outputs.gatewayUrl : functionApp.outputs.url
output DATABASE_PROVIDER string = databaseProvider
output COSMOS_ENDPOINT string = databaseProvider == 'cosmos' ? cosmos.outputs.endpoint : ''
output COSMOS_DATABASE_ID string = databaseProvider == 'cosmos' ? cosmosDatabaseName : ''
output AZURE_OPENAI_ENDPOINT string = modelProvider == 'azureopenai' ? openAi.outputs.endpoint : ''
output AZURE_OPENAI_DEPLOYMENT string = modelProvider == 'azureopenai' ? openAiDeploymentName : ''
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName

// Azure OpenAI account with one model deployment, key-less: local auth is disabled and the app's managed identity gets
// "Cognitive Services OpenAI User" on this account only. Clients pass the deployment name as `model`, so by default the
// deployment is named after the model (e.g. gpt-4.1-mini).

param name string
param location string
param tags object = {}

@description('Model deployment name (what clients send as `model`).')
param deploymentName string = 'gpt-4.1-mini'
param modelName string = 'gpt-4.1-mini'
param modelVersion string = '2025-04-14'

@description('Deployment SKU, e.g. GlobalStandard or Standard.')
param deploymentSku string = 'GlobalStandard'

@description('Deployment capacity in thousands of tokens per minute.')
@minValue(1)
param deploymentCapacity int = 30

@description('Principal id of the Function App\'s managed identity.')
param identityPrincipalId string

@description('Optional principal id (e.g. the developer running azd) that may also call the model.')
param developerPrincipalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
@description('Kind of developerPrincipalId (azd passes the signed-in user; a CI identity is a ServicePrincipal).')
param developerPrincipalType string = 'User'

var openAiUser = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  //checkov:skip=CKV_AZURE_134: No VNet in this template; local (key) auth is disabled, so callers need an Entra token and the OpenAI User role.
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  // A system-assigned identity costs nothing and lets the account reach other resources later without keys.
  identity: {
    type: 'SystemAssigned'
  }
  sku: {
    name: 'S0'
  }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
    }
  }
}

resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: deploymentName
  sku: {
    name: deploymentSku
    capacity: deploymentCapacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: modelName
      version: modelVersion
    }
  }
}

resource appRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, identityPrincipalId, openAiUser)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', openAiUser)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource developerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(developerPrincipalId)) {
  name: guid(account.id, developerPrincipalId, openAiUser)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', openAiUser)
    principalId: developerPrincipalId
    principalType: developerPrincipalType
  }
}

output name string = account.name
output endpoint string = account.properties.endpoint
output deploymentName string = deployment.name

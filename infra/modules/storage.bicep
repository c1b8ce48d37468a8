// The Functions host's storage account (AzureWebJobsStorage), reached only with the managed identity:
// shared-key access is off. It holds the Flex Consumption deployment package container and the `run-jobs` queue that
// carries background runs to the queue-triggered function.

param name string
param location string
param tags object = {}

@description('Blob container that Flex Consumption deploys the app package to.')
param deploymentContainerName string

@description('Storage queue for background runs (read by the queue-triggered function).')
param runQueueName string = 'run-jobs'

@description('Principal id of the Function App\'s managed identity.')
param identityPrincipalId string

// Built-in roles. Blob Data Owner is what the Functions host needs for its own blobs (keys, leases, deployment
// package); Queue Data Contributor lets the app enqueue and the trigger dequeue run jobs. No Table role: nothing here
// uses Table storage (no Durable Functions).
var blobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var queueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35: No VNet in this template, so the Flex Consumption app and azd's package upload reach storage over its public endpoint; shared keys are off, so every call needs an Entra token and a role.
  //checkov:skip=CKV_AZURE_59: Same as CKV_AZURE_35: public endpoint, identity-only access.
  //checkov:skip=CKV_AZURE_206: LRS is enough for host state, the redeployable package and short-lived run jobs; geo-replication would add cost for nothing durable.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource runQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: runQueueName
}

resource blobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, identityPrincipalId, blobDataOwner)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataOwner)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource queueRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, identityPrincipalId, queueDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueDataContributor)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output deploymentContainerName string = deploymentContainer.name
output runQueueName string = runQueue.name

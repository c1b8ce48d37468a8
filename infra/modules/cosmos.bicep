// Azure Cosmos DB for NoSQL, key-less: local (key) auth is disabled and the app's managed identity gets the built-in
// data-plane role "Cosmos DB Built-in Data Contributor" on the database only. The containers are created here because
// data-plane RBAC cannot create them (the app creates them itself only against the emulator).
//
//   assistants  partition key /tenant_id  (assistant documents)
//   threads     partition key /thread_id  (thread, message, run and step documents of one thread)

param name string
param location string
param tags object = {}

@description('Serverless capacity (pay per request, ~0 at idle). false: provisioned autoscale throughput on the database.')
param serverless bool = true

@description('Autoscale maximum RU/s shared by the containers; used only when serverless is false.')
@minValue(1000)
param autoscaleMaxThroughput int = 1000

@description('Database name; the app reads it from COSMOS_DATABASE_ID.')
param databaseName string = 'assistants'

@description('Principal id of the Function App\'s managed identity.')
param identityPrincipalId string

@description('Optional principal id (e.g. the developer running azd) that also gets data access, for local runs against this account.')
param developerPrincipalId string = ''

// Built-in "Cosmos DB Built-in Data Contributor" data-plane role.
var dataContributorRoleId = '00000000-0000-0000-0000-000000000002'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  //checkov:skip=CKV_AZURE_101: No VNet in this template; key auth is disabled, so callers need an Entra token and a data-plane role.
  //checkov:skip=CKV_AZURE_99: Same as CKV_AZURE_101: no IP or VNet rules because the Flex Consumption app has no fixed outbound address without a VNet.
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    capabilities: serverless ? [
      {
        name: 'EnableServerless'
      }
    ] : []
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: serverless ? {} : {
      autoscaleSettings: {
        maxThroughput: autoscaleMaxThroughput
      }
    }
  }
}

resource assistantsContainer 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: database
  name: 'assistants'
  properties: {
    resource: {
      id: 'assistants'
      partitionKey: {
        paths: [
          '/tenant_id'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        // Only what the queries read: the partition key, id (ranges, ORDER BY) and the members of _indexes
        // (ARRAY_CONTAINS). Bodies are not indexed, so writes of large runs and messages cost fewer RU.
        // core/adapters/cosmos/store.py (indexing_policy) creates emulator containers with the same policy.
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/tenant_id/?'
          }
          {
            path: '/id/?'
          }
          {
            path: '/_indexes/[]/?'
          }
        ]
        excludedPaths: [
          {
            path: '/*'
          }
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
}

resource threadsContainer 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: database
  name: 'threads'
  properties: {
    resource: {
      id: 'threads'
      partitionKey: {
        paths: [
          '/thread_id'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        // Only what the queries read: the partition key, id (ranges, ORDER BY) and the members of _indexes
        // (ARRAY_CONTAINS). Bodies are not indexed, so writes of large runs and messages cost fewer RU.
        // core/adapters/cosmos/store.py (indexing_policy) creates emulator containers with the same policy.
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/thread_id/?'
          }
          {
            path: '/id/?'
          }
          {
            path: '/_indexes/[]/?'
          }
        ]
        excludedPaths: [
          {
            path: '/*'
          }
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
  }
}

resource appDataRole 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(account.id, identityPrincipalId, dataContributorRoleId)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleId}'
    principalId: identityPrincipalId
    scope: '${account.id}/dbs/${databaseName}'
  }
  dependsOn: [
    database
  ]
}

resource developerDataRole 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = if (!empty(developerPrincipalId)) {
  parent: account
  name: guid(account.id, developerPrincipalId, dataContributorRoleId)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleId}'
    principalId: developerPrincipalId
    scope: '${account.id}/dbs/${databaseName}'
  }
  dependsOn: [
    database
  ]
}

output name string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
output containerNames array = [
  assistantsContainer.name
  threadsContainer.name
]

// Optional Azure Cache for Redis (DATABASE_PROVIDER=redis). The app connects with a `rediss://` URL that carries the
// access key, so the URL is written straight into Key Vault here (it never leaves this module as an output) and the
// Function App reads it as a Key Vault reference. TLS only; the non-TLS port stays closed.

param name string
param location string
param tags object = {}

@description('Key Vault that receives the `redis-url` secret.')
param keyVaultName string

@allowed([
  'Basic'
  'Standard'
])
param skuName string = 'Basic'

@description('Cache size: 0 = C0 (250 MB).')
@minValue(0)
@maxValue(6)
param capacity int = 0

resource redis 'Microsoft.Cache/redis@2024-03-01' = {
  //checkov:skip=CKV_AZURE_89: No VNet in this template; access needs the key (kept in Key Vault) over TLS 1.2 only.
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: skuName
      family: 'C'
      capacity: capacity
    }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    redisVersion: '6'
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource redisUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  //checkov:skip=CKV_AZURE_41: The app reads this through a Key Vault reference; an expiry date would silently break it. Rotate by redeploying.
  parent: vault
  name: 'redis-url'
  properties: {
    value: 'rediss://:${uriComponent(redis.listKeys().primaryKey)}@${redis.properties.hostName}:${redis.properties.sslPort}/0'
    contentType: 'text/plain'
  }
}

output name string = redis.name
output hostName string = redis.properties.hostName
output redisUrlSecretUri string = redisUrlSecret.properties.secretUri

// API Management in front of the Function App, importing infra/openapi.yaml once per route family (paths `v1`,
// `openai`, `openai/v1`), so OpenAI-style clients use https://<apim>.azure-api.net/v1 as the openai SDK's base_url and
// Azure OpenAI-style clients https://<apim>.azure-api.net as their azure_endpoint.
//
// Authentication decision: APIM subscriptions are NOT required by default (subscriptionRequired: false). The openai
// SDK sends `Authorization: Bearer <key>`, and APIM forwards that header unchanged; the app itself checks the key
// against API_KEYS (one tenant per key). Requiring an APIM subscription as well would force every client to add a
// second header. If an operator turns it on (apimSubscriptionRequired), the subscription key goes in
// `Ocp-Apim-Subscription-Key`, deliberately not `api-key`: the app accepts `api-key` as a client key, and one header
// cannot carry two different keys.
//
// Streaming: response buffering is off so SSE frames are relayed as they come. Microsoft documents long-running
// connections as unsupported on the Consumption tier; streams longer than a few minutes need a classic or v2 tier
// (apiManagementSku), or clients can stream from the Function App URL directly (see docs/deploy.md).

param name string
param location string
param tags object = {}

@allowed([
  'Consumption'
  'Developer'
  'BasicV2'
  'StandardV2'
])
param skuName string = 'Consumption'

param publisherEmail string
param publisherName string

@description('Function App base URL, e.g. https://func-x.azurewebsites.net (host.json has no route prefix).')
param backendUrl string

// One API per route family of the app (core/http/_routes.py): the same document, the same backend paths.
var families = [
  { name: 'assistants', path: 'v1', displayName: 'Assistants API' }
  { name: 'assistants-azure', path: 'openai', displayName: 'Assistants API (Azure OpenAI style)' }
  { name: 'assistants-azure-v1', path: 'openai/v1', displayName: 'Assistants API (Azure OpenAI v1 style)' }
]

param subscriptionRequired bool = false

resource apim 'Microsoft.ApiManagement/service@2024-05-01' = {
  //checkov:skip=CKV_AZURE_107: API Management is the public front door, and the Consumption tier has no VNet integration.
  //checkov:skip=CKV_AZURE_174: API Management is the public front door: public network access is the point.
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    capacity: skuName == 'Consumption' ? 0 : 1
  }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
  }
}

resource apis 'Microsoft.ApiManagement/service/apis@2024-05-01' = [for family in families: {
  parent: apim
  name: family.name
  properties: {
    displayName: family.displayName
    path: family.path
    protocols: [
      'https'
    ]
    apiType: 'http'
    format: 'openapi'
    value: loadTextContent('../openapi.yaml')
    serviceUrl: '${backendUrl}/${family.path}'
    subscriptionRequired: subscriptionRequired
    subscriptionKeyParameterNames: {
      header: 'Ocp-Apim-Subscription-Key'
      query: 'subscription-key'
    }
  }
}]

resource apiPolicies 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = [for (family, i) in families: {
  parent: apis[i]
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: loadTextContent('apim-policy.xml')
  }
}]

output name string = apim.name
output gatewayUrl string = apim.properties.gatewayUrl
output apiUrl string = '${apim.properties.gatewayUrl}/v1'

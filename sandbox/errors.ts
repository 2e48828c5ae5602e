/**
 * One factory for every error the emulated services answer, so that each has the status,
 * code and message the real service uses. RPC (ENS) and ROA (ACK) serialize differently;
 * see `toRpcBody` and `toRoaBody`.
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const errors = {
  missingParameter: (name: string) =>
    new ApiError(400, 'MissingParameter', `The input parameter "${name}" that is mandatory for processing this request is not supplied.`),
  /** ENS names the field in the code: `InvalidParameter.<Field>`. */
  invalidParameter: (name: string, why: string) => new ApiError(400, `InvalidParameter.${name}`, `The specified field ${name} is invalid. ${why}`),
  incompleteSignature: (why: string) => new GatewayError(400, 'IncompleteSignature', `The request signature does not conform to Aliyun standards. ${why}`),
  signatureDoesNotMatch: (stringToSign: string) =>
    new GatewayError(400, 'SignatureDoesNotMatch', `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`),
  signatureNonceUsed: () => new GatewayError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.'),
  contentHashMismatch: () => new GatewayError(400, 'SignatureDoesNotMatch', 'The x-acs-content-sha256 header does not match the request body.'),
  invalidAccessKeyId: () => new GatewayError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.'),
  securityTokenMissing: () => new GatewayError(400, 'InvalidSecurityToken.Missing', 'The security token you provided is missing.'),
  securityTokenMismatch: () => new GatewayError(400, 'InvalidSecurityToken.MismatchWithAccessKey', 'Specified SecurityToken mismatch with the AccessKey.'),
  securityTokenMalformed: () => new GatewayError(400, 'InvalidSecurityToken.Malformed', 'Specified SecurityToken is malformed.'),
  securityTokenExpired: () => new GatewayError(400, 'InvalidSecurityToken.Expired', 'Specified SecurityToken is expired.'),
  throttlingUser: () => new GatewayError(400, 'Throttling.User', 'Request was denied due to user flow control.'),
  serviceUnavailable: () => new ApiError(503, 'ServiceUnavailable', 'The request has failed due to a temporary failure of the server.'),
  internalError: () => new ApiError(500, 'InternalError', 'The request processing has failed due to some unknown error, exception or failure.'),
  notImplemented: (what: string) => new ApiError(501, 'NotImplemented', `The sandbox does not implement ${what}.`),
  unsupportedVersion: (version: string) => new ApiError(400, 'InvalidVersion', `Specified parameter Version "${version}" is not valid.`),
  // ENS
  ensClusterNotFound: (id: string) =>
    new ApiError(400, 'InvalidParameter.ClusterId', `The specified field ClusterId is invalid. Cluster ${id} does not exist.`),
  ensClusterBusy: () => new ApiError(400, 'IncorrectClusterStatus', 'cannot operate cluster where state is updating'),
  // ACK (ROA)
  ackClusterNotFound: (id: string) => new ApiError(404, 'ErrorClusterNotFound', `cluster ${id} not found`),
  ackNodePoolNotFound: (id: string) => new ApiError(404, 'ErrorNodePoolNotFound', `node pool ${id} not found`),
  ackTaskNotFound: (id: string) => new ApiError(404, 'ErrorTaskNotFound', `task ${id} not found`),
  ackInvalidParameter: (why: string) => new ApiError(400, 'InvalidParameter', why),
  ackNameExists: (name: string, clusterId: string) =>
    new ApiError(400, 'InvalidParameter.Name', `nodepool name ${name} is already exist in cluster ${clusterId}.`),
  /**
   * FC refuses an async task id it has seen with 409 (its task de-duplication documentation).
   * FC 3.0 publishes no error code for it; FC 2.0's is used, and our client keys on the 409.
   */
  fcTaskExists: (taskId: string) => new ApiError(409, 'StatefulAsyncInvocationAlreadyExists', `The async task ${taskId} already exists.`),
  ackClusterBusy: (state: string) => new ApiError(400, 'InvalidStatus.Forbidden', `cannot operate cluster where state is ${state}`),
};

const HOST_ID = 'ens.aliyuncs.com';

export function toRpcBody(err: ApiError, requestId: string, host = HOST_ID): Record<string, string> {
  return {
    RequestId: requestId,
    HostId: host,
    Code: err.code,
    Message: err.message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(err.code)}&product=Ens&requestId=${requestId}`,
  };
}

function toRoaBody(err: ApiError, requestId: string): Record<string, unknown> {
  return { code: err.code, message: err.message, requestId };
}

/**
 * Errors raised by the API gateway before a request reaches the product (signature,
 * credentials, flow control) carry the capitalised RPC keys on ROA endpoints too.
 */
class GatewayError extends ApiError {}

/** An error as the service that was called answers it: RPC keys, ROA keys, or FC 2.0's. */
export function errorAnswer(
  err: ApiError,
  style: 'rpc' | 'roa' | 'fc2' | 'fc3',
  product: string,
  requestId: string,
): { status: number; body: unknown; headers?: Record<string, string> } {
  if (style === 'fc2') return { status: err.status, body: { ErrorCode: err.code, ErrorMessage: err.message }, headers: { 'x-fc-request-id': requestId } };
  // FC 3.0's error struct: {Code, Message, RequestId} (its API reference and the fc20230330 SDK's Error model).
  if (style === 'fc3')
    return { status: err.status, body: { Code: err.code, Message: err.message, RequestId: requestId }, headers: { 'x-fc-request-id': requestId } };
  const host = product === 'ens' || product === 'unknown' ? undefined : `${product === 'ack' ? 'cs' : product}.aliyuncs.com`;
  return { status: err.status, body: style === 'rpc' || err instanceof GatewayError ? toRpcBody(err, requestId, host) : toRoaBody(err, requestId) };
}

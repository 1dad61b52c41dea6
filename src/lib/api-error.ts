/**
 * The closed catalogue of errors the CloudTrail-compatible API returns (spec §5.1, §5.5). Every
 * error leaves as `{"__type": code, "message": text}` with the status below and the same code in
 * `x-amzn-ErrorType`; docs/reference/errors.md lists them and a test keeps the two in step.
 */
export const API_ERRORS = {
  // Protocol and authentication (the codes AWS JSON services use before an operation runs).
  MissingAuthenticationTokenException: 403,
  IncompleteSignatureException: 400,
  InvalidSignatureException: 403,
  UnrecognizedClientException: 403,
  AccessDeniedException: 403,
  SerializationException: 400,
  UnknownOperationException: 400,
  RequestEntityTooLargeException: 413,
  ThrottlingException: 400,
  ServiceUnavailableException: 503,
  InternalFailure: 500,
  // Modelled CloudTrail exceptions used by the operations implemented so far.
  InvalidLookupAttributesException: 400,
  InvalidTimeRangeException: 400,
  InvalidMaxResultsException: 400,
  InvalidNextTokenException: 400,
  InvalidTokenException: 400,
  InvalidEventCategoryException: 400,
  InvalidParameterException: 400,
  UnsupportedOperationException: 400,
  OperationNotPermittedException: 400,
  // Trails and event selectors (src/trails/, src/selectors/).
  TrailNotFoundException: 400,
  TrailAlreadyExistsException: 400,
  InvalidTrailNameException: 400,
  CloudTrailARNInvalidException: 400,
  MaximumNumberOfTrailsExceededException: 400,
  InvalidHomeRegionException: 400,
  InvalidParameterCombinationException: 400,
  S3BucketDoesNotExistException: 400,
  InsufficientS3BucketPolicyException: 400,
  InsufficientSnsTopicPolicyException: 400,
  InsufficientEncryptionPolicyException: 400,
  InvalidS3BucketNameException: 400,
  InvalidS3PrefixException: 400,
  InvalidSnsTopicNameException: 400,
  InvalidKmsKeyIdException: 400,
  InvalidCloudWatchLogsLogGroupArnException: 400,
  InvalidCloudWatchLogsRoleArnException: 400,
  OrganizationsNotInUseException: 400,
  InvalidEventSelectorsException: 400,
  TagsLimitExceededException: 400,
  InvalidTagParameterException: 400,
  ResourceNotFoundException: 400,
  ResourceTypeNotSupportedException: 400,
  // Lake: event data stores, queries and imports (src/lake/).
  EventDataStoreAlreadyExistsException: 400,
  EventDataStoreMaxLimitExceededException: 400,
  EventDataStoreARNInvalidException: 400,
  EventDataStoreNotFoundException: 400,
  EventDataStoreTerminationProtectedException: 400,
  InvalidEventDataStoreStatusException: 400,
  InvalidEventDataStoreCategoryException: 400,
  InactiveEventDataStoreException: 400,
  InvalidQueryStatementException: 400,
  InvalidQueryStatusException: 400,
  InvalidDateRangeException: 400,
  MaxConcurrentQueriesException: 400,
  QueryIdNotFoundException: 400,
  InactiveQueryException: 400,
  AccountHasOngoingImportException: 400,
  ImportNotFoundException: 400,
  InvalidImportSourceException: 400,
  EventDataStoreHasOngoingImportException: 400,
  // Lake channels and resource policies (src/lake/channel-operations.ts).
  ChannelARNInvalidException: 400,
  ChannelNotFoundException: 400,
  ChannelAlreadyExistsException: 400,
  ChannelMaxLimitExceededException: 400,
  ChannelExistsForEDSException: 400,
  InvalidSourceException: 400,
  ResourcePolicyNotFoundException: 400,
  ResourcePolicyNotValidException: 400,
  // cloudtrail-data PutAuditEvents (REST-JSON; src/lake/put-audit-events.ts).
  ChannelInsufficientPermission: 400,
  ChannelNotFound: 400,
  InvalidChannelARN: 400,
  ChannelUnsupportedSchema: 400,
  DuplicatedAuditEventId: 400,
  // The IAM-shaped API (Query protocol, XML errors; src/control-plane/iam/).
  AccessDenied: 403,
  NoSuchEntity: 404,
  EntityAlreadyExists: 409,
  DeleteConflict: 409,
  LimitExceeded: 409,
  MalformedPolicyDocument: 400,
  InvalidInput: 400,
  ValidationError: 400,
  // EventBridge (AWS JSON 1.1, target prefix AWSEvents; src/control-plane/events/).
  ValidationException: 400,
  LimitExceededException: 400,
  InvalidEventPatternException: 400,
  // The SNS API (Query protocol, XML errors; src/control-plane/sns/).
  InvalidParameter: 400,
  NotFound: 404,
  AuthorizationError: 403,
  TopicLimitExceeded: 403,
  SubscriptionLimitExceeded: 403,
  InvalidAction: 400,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** An error the API answers with; anything else thrown inside a handler becomes InternalFailure. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = API_ERRORS[code];
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

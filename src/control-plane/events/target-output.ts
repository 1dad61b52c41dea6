import type { EventTarget } from "../../stores/event-rules/index.js";

/** A stored target as ListTargetsByRule shows it: the members PutTargets was given, in AWS's names. */
export function targetOutput(target: EventTarget): Record<string, unknown> {
  const { inputTransformer, retryPolicy, httpParameters } = target;
  return {
    Id: target.id,
    Arn: target.arn,
    ...(target.roleArn !== undefined ? { RoleArn: target.roleArn } : {}),
    ...(target.input !== undefined ? { Input: target.input } : {}),
    ...(target.inputPath !== undefined ? { InputPath: target.inputPath } : {}),
    ...(inputTransformer !== undefined
      ? {
          InputTransformer: {
            ...(inputTransformer.inputPathsMap !== undefined ? { InputPathsMap: inputTransformer.inputPathsMap } : {}),
            InputTemplate: inputTransformer.inputTemplate,
          },
        }
      : {}),
    ...(httpParameters !== undefined
      ? {
          HttpParameters: {
            ...(httpParameters.pathParameterValues !== undefined
              ? { PathParameterValues: httpParameters.pathParameterValues }
              : {}),
            ...(httpParameters.headerParameters !== undefined
              ? { HeaderParameters: httpParameters.headerParameters }
              : {}),
            ...(httpParameters.queryStringParameters !== undefined
              ? { QueryStringParameters: httpParameters.queryStringParameters }
              : {}),
          },
        }
      : {}),
    ...(target.deadLetterArn !== undefined ? { DeadLetterConfig: { Arn: target.deadLetterArn } } : {}),
    ...(retryPolicy !== undefined
      ? {
          RetryPolicy: {
            ...(retryPolicy.maximumRetryAttempts !== undefined
              ? { MaximumRetryAttempts: retryPolicy.maximumRetryAttempts }
              : {}),
            ...(retryPolicy.maximumEventAgeInSeconds !== undefined
              ? { MaximumEventAgeInSeconds: retryPolicy.maximumEventAgeInSeconds }
              : {}),
          },
        }
      : {}),
  };
}

// The backup keys' own policy, and the tamper alarm's event pattern. A KMS key that is
// deleted or disabled makes every backup encrypted with it unreadable, object lock or not, so
// the key is guarded like the bucket: nobody but a named break-glass role may schedule its
// deletion, disable it or change this policy. Pure data, tested on its own.
import type { PolicyDocument } from "./documents";

/** Actions that would make the backups unreadable or unguard the key; break-glass only. */
export const keyDestructiveActions = [
  "kms:ScheduleKeyDeletion",
  "kms:DisableKey",
  "kms:DisableKeyRotation",
  "kms:PutKeyPolicy",
  "kms:DeleteImportedKeyMaterial",
  "kms:UpdatePrimaryRegion",
];

/** API calls on a backup key that page the critical topic (CloudTrail through EventBridge). */
export const keyTamperEvents = ["ScheduleKeyDeletion", "DisableKey", "PutKeyPolicy", "DisableKeyRotation"];

/**
 * AWS caps a key's pending-deletion window at 30 days; the object lock of the backups it
 * encrypts is usually longer (35 days by default): the deny below, not the window, is what
 * keeps the key alive as long as the backups.
 */
export const maxKeyDeletionWindowDays = 30;

export function backupKeyPolicy(args: { accountId: string; partition?: string; breakGlassRoleArn: string }): PolicyDocument {
  const partition = args.partition ?? "aws";
  return {
    Version: "2012-10-17",
    Statement: [
      {
        // The default key policy's statement: IAM policies of the account decide (hosts get
        // Decrypt/GenerateDataKey through S3 only, infra/policies/documents.ts).
        Sid: "AccountIamPoliciesDecide",
        Effect: "Allow",
        Principal: { AWS: `arn:${partition}:iam::${args.accountId}:root` },
        Action: "kms:*",
        Resource: "*",
      },
      {
        Sid: "OnlyBreakGlassMayDestroyTheKey",
        Effect: "Deny",
        Principal: "*",
        Action: keyDestructiveActions,
        Resource: "*",
        Condition: { ArnNotEquals: { "aws:PrincipalArn": args.breakGlassRoleArn } },
      },
    ],
  };
}

/** EventBridge pattern: a tamper call on this key, as CloudTrail records it. */
export function keyTamperEventPattern(keyArn: string): Record<string, unknown> {
  return {
    source: ["aws.kms"],
    "detail-type": ["AWS API Call via CloudTrail"],
    detail: { eventSource: ["kms.amazonaws.com"], eventName: keyTamperEvents, resources: { ARN: [keyArn] } },
  };
}

/**
 * The critical topic's policy: the account's own services publish as before (CloudWatch
 * alarms), and EventBridge rules of this account may publish too (the key tamper alarm).
 */
export function criticalTopicPolicy(args: { topicArn: string; accountId: string }): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AccountPublishes",
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"],
        Resource: args.topicArn,
        Condition: { StringEquals: { "AWS:SourceOwner": args.accountId } },
      },
      {
        Sid: "EventBridgeRulesPublish",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sns:Publish",
        Resource: args.topicArn,
        Condition: { StringEquals: { "aws:SourceAccount": args.accountId } },
      },
    ],
  };
}

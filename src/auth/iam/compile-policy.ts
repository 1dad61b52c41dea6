import { compileCondition, type ConditionCheck } from "./conditions.js";
import { compilePattern } from "./patterns.js";
import { hasPolicyVariables, type PolicyDocument, type PolicyStatement } from "./policy-document.js";
import { parseTemplate, resolveTemplate, type Template } from "./policy-variables.js";
import type { RequestContext } from "./request-context.js";
import { matchGlob, type Glob } from "./wildcard.js";

/** What one statement is matched against: the action lower-cased once per call. */
export interface StatementInput {
  readonly actionLower: string;
  readonly resource: string;
  readonly context: RequestContext;
}

export interface CompiledStatement {
  readonly effect: "Allow" | "Deny";
  /** Whether the statement applies to the call: its action, resource and conditions all match. */
  applies(input: StatementInput): boolean;
}

/** A document compiled once into matchers; evaluating it allocates nothing for most statements. */
export interface CompiledPolicy {
  readonly statements: readonly CompiledStatement[];
}

type Matcher = (input: StatementInput) => boolean;

/** Action/NotAction: wildcards, "The prefix and the action name are case insensitive". */
function actionMatcher(statement: PolicyStatement): Matcher {
  const patterns = statement.Action ?? statement.NotAction ?? [];
  const negated = statement.Action === undefined;
  if (patterns.includes("*")) return () => !negated;
  const globs = patterns.map((pattern) => compilePattern([{ text: pattern }], "plain", true));
  return ({ actionLower }) => globs.some((glob) => matchGlob(glob, actionLower)) !== negated;
}

/** One Resource entry; an entry whose variable has no value "will not match any resource". */
function resourceEntry(template: Template): (resource: string, context: RequestContext) => boolean {
  if (!template.hasVariables) {
    const glob: Glob = compilePattern(template.pieces, "resource");
    return (resource) => matchGlob(glob, resource);
  }
  return (resource, context) => {
    const resolved = resolveTemplate(template, context);
    return resolved !== undefined && matchGlob(compilePattern(resolved, "resource"), resource);
  };
}

/** Resource/NotResource: ARN wildcards per segment, case-sensitive, variables in 2012-10-17 documents. */
function resourceMatcher(statement: PolicyStatement, variables: boolean): Matcher {
  const patterns = statement.Resource ?? statement.NotResource ?? [];
  const negated = statement.Resource === undefined;
  if (patterns.includes("*")) return () => !negated;
  const entries = patterns.map((pattern) => resourceEntry(parseTemplate(pattern, variables)));
  return ({ resource, context }) => entries.some((entry) => entry(resource, context)) !== negated;
}

function compileStatement(statement: PolicyStatement, variables: boolean): CompiledStatement {
  const action = actionMatcher(statement);
  const resource = resourceMatcher(statement, variables);
  const condition: ConditionCheck = compileCondition(statement.Condition, variables);
  return {
    effect: statement.Effect,
    applies: (input) => action(input) && resource(input) && condition(input.context),
  };
}

export function compilePolicy(document: PolicyDocument): CompiledPolicy {
  const variables = hasPolicyVariables(document);
  return { statements: document.Statement.map((statement) => compileStatement(statement, variables)) };
}

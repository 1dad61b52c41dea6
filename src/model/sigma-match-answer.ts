/** A Sigma match as `GET /sigma/matches` lists it (the route's answer and the console's reading of it). */
export interface SigmaMatchAnswer {
  readonly ruleId: string;
  readonly title: string;
  readonly level: string;
  readonly kind: string;
  readonly eventID: string;
  readonly eventTime: string;
  readonly eventIDs: string[];
  readonly groupBy?: Readonly<Record<string, string>>;
  readonly matchedAt: string;
}

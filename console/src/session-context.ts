import { createContext, useContext } from "react";
import type { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import type { Session } from "./api/session.js";

export interface SessionValue {
  readonly session: Session;
  readonly client: CloudTrailClient;
  readonly signOut: () => void;
}

export const SessionContext = createContext<SessionValue | undefined>(undefined);

/** Every page below the sign-in gate uses the signed-in session's client. */
export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (value === undefined) throw new Error("useSession outside the signed-in console");
  return value;
}

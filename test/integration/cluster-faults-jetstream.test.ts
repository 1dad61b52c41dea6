import { describeLeaderLoss } from "../helpers/jetstream-leader-loss.js";

describeLeaderLoss("SIGTERM");

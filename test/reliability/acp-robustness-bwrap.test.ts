import {acpRobustness} from './acp-robustness-cases.js'

acpRobustness('bwrap')

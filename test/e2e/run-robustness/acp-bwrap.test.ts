import {acpRobustness} from './acp-cases.js'

acpRobustness('bwrap')

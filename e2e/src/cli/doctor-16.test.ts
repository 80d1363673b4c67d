import { defineDoctorSuite } from './doctor-suite.ts';

defineDoctorSuite('1.6');
